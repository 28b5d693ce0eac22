/*
 * axharness guest runtime for aarch64 (EL1, MMU off) on the axvisor 0.8 line (axvm 0.8).
 *
 * Same layout and payload interface as runtime.S; only the markers differ. On this line the
 * guest's UART is an emulated device (every character costs two MMIO exits) and what the guest
 * prints is held by axvisor's console multiplexer, not shown. So the start and end of the
 * guest program are marked by hypercalls instead of text: HVC #0 with x0 = AXH_MARKER_START
 * (0x41584801, "AXH" 01) before the payload and x0 = AXH_MARKER_END (0x41584802) after it.
 * Each is one Hypercall exit, logged like any other exit and in order with them; axvm 0.8.5
 * does not know the call number, warns and resumes the guest (no register is changed).
 * Then PSCI SYSTEM_OFF through HVC.
 *
 * The payload area is a hole the harness fills per run: it finds the 16-byte magic
 * "AXH-PAYLOAD-AREA" in the image, reads the 8-byte capacity after it and writes the
 * scenario's position-independent code right after that (a 4 KiB-aligned guest address).
 * An unfilled hole holds the default payload, a lone `ret`.
 *
 * Registers given to the payload: x19 = UART base, x20 = address of the `axh_puts`
 * routine (x0 = NUL-terminated string; clobbers x0-x2), sp = a 16 KiB stack.
 */
        .equ UART_BASE, 0x09000000
        .equ PAYLOAD_CAPACITY, 0x10000
        .equ AXH_MARKER_START, 0x41584801
        .equ AXH_MARKER_END, 0x41584802

        .section .text.boot, "ax"
        .global _start
_start:
        adr     x1, stack_top
        mov     sp, x1
        movz    x19, #(UART_BASE >> 16), lsl #16
        adr     x20, axh_puts
        movz    x0, #(AXH_MARKER_START & 0xffff)
        movk    x0, #(AXH_MARKER_START >> 16), lsl #16
        .global axh_rt_trap_marker_start
axh_rt_trap_marker_start:
        hvc     #0
        adr     x1, payload
        blr     x1
        movz    x0, #(AXH_MARKER_END & 0xffff)
        movk    x0, #(AXH_MARKER_END >> 16), lsl #16
        .global axh_rt_trap_marker_end
axh_rt_trap_marker_end:
        hvc     #0
        /* PSCI SYSTEM_OFF (DEN0022 5.10): function id 0x84000008 in w0. */
        movz    x0, #0x0008
        movk    x0, #0x8400, lsl #16
        .global axh_rt_trap_system_off
axh_rt_trap_system_off:
        hvc     #0
axh_rt_trap_system_off_end:
1:      wfe
        b       1b

/* axh_puts: write the NUL-terminated string at x0 to the PL011 data register. */
axh_puts:
        ldrb    w1, [x0], #1
        cbz     w1, 2f
1:      ldr     w2, [x19, #0x18]        /* UARTFR: wait while TXFF (bit 5) */
        tbnz    w2, #5, 1b
        strb    w1, [x19]
        b       axh_puts
2:      ret

        /* Header (magic + capacity, 24 bytes) ends exactly where the page-aligned hole starts. */
        .balign 4096
        .skip   4096 - 24
        .ascii  "AXH-PAYLOAD-AREA"
        .quad   PAYLOAD_CAPACITY
payload:
        ret
        .fill   (PAYLOAD_CAPACITY - 4), 1, 0

        .balign 16
stack:
        .fill   0x4000, 1, 0
stack_top:
