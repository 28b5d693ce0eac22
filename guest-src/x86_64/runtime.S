/*
 * axharness guest runtime for x86_64 guests of axvisor, which start in real mode
 * (CS = 0, IP = entry). 16-bit code throughout: the scenarios need port I/O, VMMCALL/VMCALL,
 * RDMSR/WRMSR and HLT, none of which needs a mode switch.
 *
 * Prints a start marker on COM1 (0x3f8; with no Console device configured axvisor leaves the
 * port to the hardware, so this does not exit), calls the payload, prints an end marker and
 * powers off through QEMU's ACPI PM1a control port: `out 0x604, ax` with AX = 0x2000.
 * The payload hole follows the magic "AXH-PAYLOAD-AREA" and its capacity; it holds 16-bit
 * code that returns with a near `ret`. Registers for the payload: sp = a 4 KiB stack.
 */
        .equ COM1, 0x3f8
        .equ PAYLOAD_CAPACITY, 0x4000
        .code16
        .section .text.boot, "ax"
        .global _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    $stack_top, %esp
        movw    $msg_start, %si
        call    axh_puts
        call    payload
        movw    $msg_end, %si
        call    axh_puts
        movl    $0x2000, %eax
        movw    $0x604, %dx
        .global axh_rt_trap_system_off
axh_rt_trap_system_off:
        outw    %ax, %dx
axh_rt_trap_system_off_end:
1:      hlt
        jmp     1b

/* axh_puts: write the NUL-terminated string at ds:si to COM1 (clobbers ax, dx, si). */
axh_puts:
        lodsb
        testb   %al, %al
        jz      2f
        movw    $COM1, %dx
        outb    %al, %dx
        jmp     axh_puts
2:      ret

msg_start: .asciz "AXH:GUEST-START x86_64\n"
msg_end:   .asciz "AXH:GUEST-END\n"

        .balign 4096
        .skip   4096 - 24
        .ascii  "AXH-PAYLOAD-AREA"
        .quad   PAYLOAD_CAPACITY
payload:
        ret
        .fill   (PAYLOAD_CAPACITY - 1), 1, 0

        .balign 16
stack:
        .fill   0x1000, 1, 0
stack_top:
