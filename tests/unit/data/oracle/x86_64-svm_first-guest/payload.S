    .code16
    .text
    .global _start
_start:
    /* action 0: Hypercall */
    movl $0x4ab1, %eax
    movl $0x1111, %edi
    movl $0x2222, %esi
    movl $0x3333, %edx
    movl $0x4444, %ecx
    .global axh_trap_0
axh_trap_0:
    vmmcall
axh_trap_0_end:
    ret
