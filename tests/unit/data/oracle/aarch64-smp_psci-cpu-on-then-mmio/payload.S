    .text
    .global _start
_start:
    stp x29, x30, [sp, #-16]!
    /* action 0: StartSecondary */
    movz x0, #0x3
    movk x0, #0xc400, lsl #16
    movz x1, #0x1
    adr x2, axh_trap_0_cpu1
    movz x3, #0xffee
    movk x3, #0xc0, lsl #16
    .global axh_trap_0
axh_trap_0:
    hvc #0
axh_trap_0_end:
    adr x10, axh_trap_0_done
axh_trap_0_wait:
    ldr w11, [x10]
    cbz w11, axh_trap_0_wait
    movz x11, #0x5a00
    movk x11, #0x262, lsl #16
axh_trap_0_settle:
    subs x11, x11, #1
    b.ne axh_trap_0_settle
    /* action 1: MmioStore */
    movz x9, #0xe04
    movk x9, #0x800, lsl #16
    movz x5, #0x4444
    movk x5, #0x3333, lsl #16
    .global axh_trap_1
axh_trap_1:
    str w5, [x9]
axh_trap_1_end:
    ldp x29, x30, [sp], #16
    ret
    .global axh_trap_0_cpu1
axh_trap_0_cpu1:
    movz x9, #0xe10
    movk x9, #0x800, lsl #16
    .global axh_trap_0_cpu1_0
axh_trap_0_cpu1_0:
    str x0, [x9]
axh_trap_0_cpu1_0_end:
    movz x9, #0xe00
    movk x9, #0x800, lsl #16
    movz x4, #0x2222
    movk x4, #0x1111, lsl #16
    .global axh_trap_0_cpu1_1
axh_trap_0_cpu1_1:
    str w4, [x9]
axh_trap_0_cpu1_1_end:
    adr x10, axh_trap_0_done
    mov w11, #1
    str w11, [x10]
    movz x0, #0x2
    movk x0, #0x8400, lsl #16
    .global axh_trap_0_cpu1_2
axh_trap_0_cpu1_2:
    hvc #0
axh_trap_0_cpu1_2_end:
    b .
    .balign 8
axh_trap_0_done:
    .quad 0
