/*
 * axharness guest runtime for riscv64 (VS-mode, satp = 0) on the axvisor 0.8 line (axvm 0.8).
 *
 * Same layout and payload interface as runtime.S; only the markers differ. On this line the
 * guest's UART is an emulated device (every character costs MMIO exits) and what the guest
 * prints is held by axvisor's console multiplexer, not shown. So the start and end of the
 * guest program are marked by hypercalls instead of text: ECALL with a7 = 0x485643 (axvm's
 * hypercall extension) and a6 = AXH_MARKER_START (0x41584801, "AXH" 01) before the payload,
 * a6 = AXH_MARKER_END (0x41584802) after it. Each is one Hypercall exit, logged like any other
 * exit and in order with them; axvm 0.8.5 does not know the call number, warns and resumes
 * the guest after the ECALL (no register is changed). Then SBI System Reset (shutdown).
 *
 * The payload hole follows the magic "AXH-PAYLOAD-AREA" and its 8-byte capacity, 4 KiB
 * aligned; unfilled it holds a lone `ret`.
 *
 * Registers given to the payload: s2 = UART base, s3 = address of `axh_puts`
 * (a0 = NUL-terminated string; clobbers a0, t0, t1), sp = a 16 KiB stack.
 */
        .equ UART_BASE, 0x10000000
        .equ PAYLOAD_CAPACITY, 0x10000
        .equ EID_AXVM_HVC, 0x485643
        .equ AXH_MARKER_START, 0x41584801
        .equ AXH_MARKER_END, 0x41584802
        .option norvc

        .section .text.boot, "ax"
        .global _start
_start:
        la      sp, stack_top
        li      s2, UART_BASE
        la      s3, axh_puts
        li      a7, EID_AXVM_HVC
        li      a6, AXH_MARKER_START
        li      a0, 0
        li      a1, 0
        li      a2, 0
        li      a3, 0
        li      a4, 0
        li      a5, 0
        .global axh_rt_trap_marker_start
axh_rt_trap_marker_start:
        ecall
        la      t0, payload
        jalr    ra, t0
        li      a7, EID_AXVM_HVC
        li      a6, AXH_MARKER_END
        li      a0, 0
        li      a1, 0
        li      a2, 0
        li      a3, 0
        li      a4, 0
        li      a5, 0
        .global axh_rt_trap_marker_end
axh_rt_trap_marker_end:
        ecall
        /* SBI SRST (SBI v2.0 ch. 10): EID 0x53525354, FID 0, type 0 = shutdown, reason 0. */
        li      a7, 0x53525354
        li      a6, 0
        li      a0, 0
        li      a1, 0
        .global axh_rt_trap_system_off
axh_rt_trap_system_off:
        ecall
axh_rt_trap_system_off_end:
1:      wfi
        j       1b

/* axh_puts: write the NUL-terminated string at a0 to the UART transmit register. */
axh_puts:
        lbu     t0, 0(a0)
        beqz    t0, 2f
1:      lbu     t1, 5(s2)               /* LSR: wait for THRE (bit 5) */
        andi    t1, t1, 0x20
        beqz    t1, 1b
        sb      t0, 0(s2)
        addi    a0, a0, 1
        j       axh_puts
2:      ret

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
