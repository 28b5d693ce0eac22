    .option norvc
    .text
    .global _start
_start:
    addi sp, sp, -16
    sd ra, 8(sp)
    /* action 0: MmioStore */
    li x31, 0xc001f00
    li x11, 0xdeadbeef
    .global axh_trap_0
axh_trap_0:
    sw x11, 0(x31)
axh_trap_0_end:
    /* action 1: Hypercall */
    li x10, 0x1111
    li x11, 0x2222
    li x12, 0x3333
    li x13, 0x4444
    li x14, 0x5555
    li x15, 0x6666
    li x16, 0x4ab1
    li x17, 0x485643
    .global axh_trap_1
axh_trap_1:
    ecall
axh_trap_1_end:
    ld ra, 8(sp)
    addi sp, sp, 16
    ret
