/*
 * axharness persistent-mode loader for aarch64 (EL1, MMU off): many programs per boot.
 *
 * Written into the runtime's payload hole like any payload (no axvisor rebuild). The harness
 * prepends `.equ PROGRAM_BASE` (the hole's guest address, where standalone payloads are
 * assembled), `.equ LOADER_OFFSET` (where in the hole this loader sits: programs must fit
 * below it), `.equ MAILBOX`, `.equ MAILBOX_PAGES` and `.equ SLOT_BYTES` (the mailbox: two
 * slots in guest RAM, which the harness writes through QEMU's RAM file). The hole's first
 * word branches here; the loader then, for n = 0, 1, ...:
 *   prints  "AXH:READY <n as 8 hex digits>\n",
 *   waits   until slot n & 1's seq word is n (the harness writes length, CRC and code first),
 *   copies  the program to PROGRAM_BASE while computing its CRC-32 (IEEE, zlib's); a bad
 *           length or CRC makes HVC 0x41584803 (x1 = n), prints "AXH:BADFRAME\n" and parks
 *           (the harness reboots: it never guesses),
 *   calls   HVC 0x41584801 (x1 = n, x2 = crc), the program with the runtime's ABI (x19 = UART
 *           base, x20 = axh_puts, sp = the runtime's stack as it was given to the loader,
 *           every other register as the runtime set it), then HVC 0x41584802 (x1 = n,
 *           x2 = crc): the two boundary exits that attribute every exit logged between them
 *           to program n,
 *   prints  "AXH:DONE <n>\n".
 * Two slots let the harness queue program n + 1 while n runs and is judged.
 * A frame whose length word has bit 63 set is a one-shot: after its end boundary the loader
 * returns to the runtime with the registers the program left (sp and x30 the runtime's), so
 * the runtime ends the run exactly as after a standalone payload, its end-marker and power-off
 * hypercalls carrying the same leftovers in x1-x6 (a VM restored from a snapshot of this
 * loader runs one case that way: harness.persist.snapshot).
 * With `.equ LOADER_TEXT, 0` (axvisor 0.8, whose guest UART is emulated: every character would
 * be exits) nothing is printed: one HVC 0x41584804 after the set-up says ready, and the
 * harness finds each program's end by its end boundary's exit record.
 * All loader state lives in memory (`state`): a program may clobber any register.
 */
        .equ UARTFR, 0x18
        .equ NR_START, 0x41584801
        .equ NR_END, 0x41584802
        .equ NR_BAD, 0x41584803
        .equ NR_READY, 0x41584804
        .equ POLY, 0xedb88320
        .equ NOT_MAGIC, ~0x31584f424d485841  /* ~"AXHMBOX1" */

/* One of the loader's hypercalls: x0 = `nr`, x1 = the program number, x2 = its CRC (`crc` = 1)
   or 0, x3-x6 = 0. x9 points at `state`. */
        .macro  axh_hvc nr, crc
        movz    x0, #(\nr & 0xffff)
        movk    x0, #(\nr >> 16), lsl #16
        ldr     x1, [x9, #24]
        .if \crc
        ldr     x2, [x9, #32]
        .else
        mov     x2, #0
        .endif
        mov     x3, #0
        mov     x4, #0
        mov     x5, #0
        mov     x6, #0
        hvc     #0
        .endm

/* x0-x29 stored at `area` (xN at 8 * N) through two words of stack; leaves x0 = area and
   x2, x3 clobbered. */
        .macro  stash_x0_x29 area
        sub     sp, sp, #16
        stp     x0, x1, [sp]
        adr     x0, \area
        stp     x2, x3, [x0, #16]
        stp     x4, x5, [x0, #32]
        stp     x6, x7, [x0, #48]
        stp     x8, x9, [x0, #64]
        stp     x10, x11, [x0, #80]
        stp     x12, x13, [x0, #96]
        stp     x14, x15, [x0, #112]
        stp     x16, x17, [x0, #128]
        stp     x18, x19, [x0, #144]
        stp     x20, x21, [x0, #160]
        stp     x22, x23, [x0, #176]
        stp     x24, x25, [x0, #192]
        stp     x26, x27, [x0, #208]
        stp     x28, x29, [x0, #224]
        ldp     x2, x3, [sp]
        stp     x2, x3, [x0]
        add     sp, sp, #16
        .endm

/* x0-x27 loaded from the layout above at `base` (a register above x27). */
        .macro  load_x0_x27 base
        ldp     x0, x1, [\base, #0]
        ldp     x2, x3, [\base, #16]
        ldp     x4, x5, [\base, #32]
        ldp     x6, x7, [\base, #48]
        ldp     x8, x9, [\base, #64]
        ldp     x10, x11, [\base, #80]
        ldp     x12, x13, [\base, #96]
        ldp     x14, x15, [\base, #112]
        ldp     x16, x17, [\base, #128]
        ldp     x18, x19, [\base, #144]
        ldp     x20, x21, [\base, #160]
        ldp     x22, x23, [\base, #176]
        ldp     x24, x25, [\base, #192]
        ldp     x26, x27, [\base, #208]
        .endm

        .section .text
        .global _start
_start:
        b       loader
        .skip   LOADER_OFFSET - 4

loader:
        /* Every register as the runtime hands it to a payload (the loader is called exactly
           as a standalone payload is): restored before each program, so that what axvisor
           reports from a register the program never set (e.g. the ISV = 0 decoding of x0)
           is what a standalone run shows. */
        stash_x0_x29 saved
        str     x30, [x0, #240]
        adr     x9, state
        str     x19, [x9, #0]           /* UART base */
        str     x20, [x9, #8]           /* axh_puts */
        mov     x10, sp
        str     x10, [x9, #16]          /* the stack every program starts on */
        str     xzr, [x9, #24]          /* n */
        /* the mailbox: a tag in the first word of each of its pages (the harness finds the
           pages in the RAM file by these tags, computed here so the image never holds them),
           and seq = all ones (no frame yet) */
        ldr     x11, =MAILBOX
        movn    x0, #0
        str     x0, [x11, #8]           /* slot 0 */
        ldr     x12, =SLOT_BYTES
        add     x12, x11, x12
        str     x0, [x12, #8]           /* slot 1 */
        ldr     x1, =NOT_MAGIC
        mvn     x1, x1
        mov     x2, #0
        mov     x3, x11
1:      eor     x4, x1, x2
        str     x4, [x3]
        add     x3, x3, #4096
        add     x2, x2, #1
        cmp     x2, #MAILBOX_PAGES
        b.ne    1b
        .if !LOADER_TEXT
        /* no text on a line whose guest UART is emulated: one hypercall says ready */
        axh_hvc NR_READY, 0
        .endif
next:
        adr     x9, state
        ldr     x19, [x9, #0]
        ldr     x10, [x9, #16]
        mov     sp, x10
        .if LOADER_TEXT
        adr     x0, msg_ready
        bl      puts_str
        ldr     x0, [x9, #24]
        bl      put_hex8
        mov     w1, #'\n'
        bl      putc
        .endif

        /* wait for frame n in slot n & 1 (the harness fills the other slot with the next
           program while this one runs): it writes seq (slot + 8) last */
        ldr     x11, =MAILBOX
        ldr     x13, [x9, #24]
        tbz     x13, #0, 1f
        ldr     x12, =SLOT_BYTES
        add     x11, x11, x12
1:      ldr     x12, [x11, #8]
        cmp     x12, x13
        b.ne    1b
        ldr     x14, [x11, #16]         /* length, bit 63: one-shot */
        lsr     x0, x14, #63
        str     x0, [x9, #40]
        and     x14, x14, #0x7fffffffffffffff
        ldr     x13, [x11, #24]         /* CRC announced */
        cbz     x14, bad
        ldr     x0, =LOADER_OFFSET
        cmp     x14, x0
        b.hi    bad
        /* copy to PROGRAM_BASE (guest stores: QEMU drops stale translations of that code)
           while computing the CRC */
        add     x15, x11, #32
        ldr     x16, =PROGRAM_BASE
        movn    w17, #0                 /* CRC register: 0xffffffff */
        ldr     w8, =POLY
4:      ldrb    w10, [x15], #1
        strb    w10, [x16], #1
        eor     w17, w17, w10
        mov     x12, #8
5:      and     w1, w17, #1
        lsr     w17, w17, #1
        neg     w1, w1
        and     w1, w1, w8
        eor     w17, w17, w1
        subs    x12, x12, #1
        b.ne    5b
        subs    x14, x14, #1
        b.ne    4b
        mvn     w17, w17
        cmp     w17, w13
        b.ne    bad
        str     x13, [x9, #32]          /* the CRC, for the boundary hypercalls */
        /* MMU off: data accesses are non-cacheable; drop stale instructions */
        dsb     sy
        ic      iallu
        dsb     sy
        isb

        axh_hvc NR_START, 1
        adr     x9, state
        ldr     x10, [x9, #16]
        mov     sp, x10
        adr     x30, saved              /* x1 = PROGRAM_BASE, as the runtime set it */
        load_x0_x27 x30
        ldp     x28, x29, [x30, #224]
        blr     x1
        /* what the program left, for a one-shot frame's return to the runtime */
        stash_x0_x29 left
        adr     x9, state
        ldr     x10, [x9, #16]
        mov     sp, x10
        ldr     x19, [x9, #0]
        axh_hvc NR_END, 1
        adr     x9, state
        ldr     x0, [x9, #40]
        cbnz    x0, oneshot
        ldr     x19, [x9, #0]
        .if LOADER_TEXT
        adr     x0, msg_done
        bl      puts_str
        ldr     x0, [x9, #24]
        bl      put_hex8
        mov     w1, #'\n'
        bl      putc
        .endif
        ldr     x0, [x9, #24]
        add     x0, x0, #1
        str     x0, [x9, #24]
        b       next

oneshot:
        /* back to the runtime as from a standalone payload: its stack and return address,
           every other register as the program left it (x29, the base, last) */
        ldr     x10, [x9, #16]
        mov     sp, x10
        adr     x29, saved
        ldr     x30, [x29, #240]
        adr     x29, left
        load_x0_x27 x29
        ldr     x28, [x29, #224]
        ldr     x29, [x29, #232]
        ret

bad:
        /* an exit first (0x41584803, x1 = n): the harness then looks for the text below even
           when a log record landed inside it */
        adr     x9, state
        axh_hvc NR_BAD, 0
        adr     x9, state
        ldr     x19, [x9, #0]
        .if LOADER_TEXT
        adr     x0, msg_bad
        bl      puts_str
        .endif
6:      wfe
        b       6b

/* Leaf routines; the UART base is in x19. */
/* putc: write w1 (uses w2). */
putc:
        ldr     w2, [x19, #UARTFR]
        tbnz    w2, #5, putc            /* TXFF */
        strb    w1, [x19]
        ret

/* puts_str: the NUL-terminated string at x0 (uses x0-x2). */
puts_str:
        ldrb    w1, [x0], #1
        cbz     w1, 2f
1:      ldr     w2, [x19, #UARTFR]
        tbnz    w2, #5, 1b
        strb    w1, [x19]
        b       puts_str
2:      ret

/* put_hex8: the low 32 bits of x0 as 8 lowercase hex digits (uses x1-x5). */
put_hex8:
        mov     x3, #28
1:      lsr     x1, x0, x3
        and     x1, x1, #0xf
        add     x4, x1, #'0'
        add     x5, x1, #('a' - 10)
        cmp     x1, #10
        csel    x1, x5, x4, hs
2:      ldr     w2, [x19, #UARTFR]
        tbnz    w2, #5, 2b
        strb    w1, [x19]
        subs    x3, x3, #4
        b.ge    1b
        ret

        .ltorg
msg_ready: .asciz "AXH:READY "
msg_done:  .asciz "AXH:DONE "
msg_bad:   .asciz "AXH:BADFRAME\n"
        .balign 8
state:  .quad 0, 0, 0, 0, 0, 0
saved:  .fill 31, 8, 0
left:   .fill 30, 8, 0
