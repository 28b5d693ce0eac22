    .text
    .global _start
_start:
    stp x29, x30, [sp, #-16]!
    /* action 0: MmioStore */
    movz x9, #0xe00
    movk x9, #0x800, lsl #16
    movz x2, #0x7788
    movk x2, #0x5566, lsl #16
    movk x2, #0x3344, lsl #32
    movk x2, #0x1122, lsl #48
    .global axh_trap_0
axh_trap_0:
    strb w2, [x9]
axh_trap_0_end:
    ldp x29, x30, [sp], #16
    ret
