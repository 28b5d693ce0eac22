/*
 * axharness guest runtime for riscv64 (VS-mode, satp = 0), embedded in the axvisor image.
 *
 * Prints a start marker on the ns16550 UART (passed through to the guest), calls the scenario
 * payload, prints an end marker and asks for SBI System Reset (SRST, shutdown).
 * The payload hole follows the magic "AXH-PAYLOAD-AREA" and its 8-byte capacity, 4 KiB
 * aligned; unfilled it holds a lone `ret`.
 *
 * Registers given to the payload: s2 = UART base, s3 = address of `axh_puts`
 * (a0 = NUL-terminated string; clobbers a0, t0, t1), sp = a 16 KiB stack.
 */
        .equ UART_BASE, 0x10000000
        .equ PAYLOAD_CAPACITY, 0x10000
        .option norvc

        .section .text.boot, "ax"
        .global _start
_start:
        la      sp, stack_top
        li      s2, UART_BASE
        la      s3, axh_puts
        la      a0, msg_start
        jalr    ra, s3
        la      t0, payload
        jalr    ra, t0
        la      a0, msg_end
        jalr    ra, s3
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

msg_start: .asciz "AXH:GUEST-START riscv64\n"
msg_end:   .asciz "AXH:GUEST-END\n"

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
