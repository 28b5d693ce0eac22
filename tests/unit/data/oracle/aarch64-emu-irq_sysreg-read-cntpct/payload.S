    .text
    .global _start
_start:
    stp x29, x30, [sp, #-16]!
    /* action 0: SysRegRead */
    .global axh_trap_0
axh_trap_0:
    mrs x5, cntpct_el0
axh_trap_0_end:
    ldp x29, x30, [sp], #16
    ret
