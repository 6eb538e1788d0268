/*
 * Vivarium accelerator probe: a 64 KiB -bios image that checks an accelerator can really run a
 * 64-bit guest (KVM can be "enabled" yet hang as soon as a guest uses long mode with paging).
 *
 *   reset vector (real mode) -> protected mode -> long mode with 4-level paging (first 16 MiB
 *   identity-mapped with 2 MiB pages) -> fill 4 MiB, copy it twice with rep movsq, compare ->
 *   spin SPIN_LOOPS register-only iterations -> write 42 to isa-debug-exit (iobase 0xf4):
 *   QEMU exits with (42 << 1) | 1 = 85. A failed compare writes 1 instead (exit 3).
 *
 * Measured on the dev host (2 cores, QEMU 7.2): ~120-340 ms under TCG. Its KVM is not a hard hang
 * but ~100x slower than TCG (a register loop runs ~0.5 M iterations/s, rep movsq ~3 MB/s): the
 * copies alone took 2.6-5.6 s, too close to a 3 s timeout, hence the spin loop (~40 ms under
 * TCG, ~9 s there). A healthy KVM runs the whole probe in a few ms.
 *
 * Run: qemu-system-x86_64 -accel tcg -display none -nodefaults -m 64 -bios probe.bin \
 *        -device isa-debug-exit,iobase=0xf4,iosize=1
 * Needs at least 12 MiB of guest RAM. Built by make.sh (GNU as/ld/objcopy, no preprocessor), which places the code
 * right below the reset vector (CODE_START) so the image is zeros then one contiguous blob.
 */
.ifndef CODE_START
        .equ CODE_START, 0              /* make.sh passes --defsym CODE_START=... */
.endif
        .equ IMG_BASE, 0xF0000     /* the 64 KiB BIOS is also mapped at 0xF0000-0xFFFFF */
        .equ PML4, 0x1000
        .equ PDPT, 0x2000
        .equ PD, 0x3000
        .equ SRC, 0x400000
        .equ DST, 0x800000
        .equ COPY_QWORDS, (0x400000 / 8)
        .equ SPIN_LOOPS, 0x400000
        .equ EXIT_PORT, 0xf4
        .equ EXIT_OK, 42
        .equ EXIT_BAD, 1
        .equ SEL_CODE32, 0x08
        .equ SEL_DATA, 0x10
        .equ SEL_CODE64, 0x18

        .text
        .org CODE_START
        .globl code_start
code_start:

/* ------------------------------------------------------------ real mode (CS base 0xFFFF0000) */
        .code16
start16:
        cli
        cld
        inb   $0x92, %al                /* fast A20 on */
        orb   $0x02, %al
        andb  $0xfe, %al
        outb  %al, $0x92
        lgdtl %cs:gdtr                  /* offset within the 64 KiB segment */
        movl  %cr0, %eax
        orl   $1, %eax                  /* PE */
        movl  %eax, %cr0
        ljmpl $SEL_CODE32, $(IMG_BASE + start32)

/* ------------------------------------------------------------ 32-bit protected mode, flat */
        .code32
start32:
        movw  $SEL_DATA, %ax
        movw  %ax, %ds
        movw  %ax, %es
        movw  %ax, %ss
        movw  %ax, %fs
        movw  %ax, %gs

        movl  $PML4, %edi               /* clear PML4, PDPT, PD */
        xorl  %eax, %eax
        movl  $(3 * 4096 / 4), %ecx
        rep stosl
        movl  $(PDPT | 3), PML4         /* present | writable */
        movl  $(PD | 3), PDPT
        movl  $PD, %edi                 /* 8 x 2 MiB pages: 0-16 MiB identity */
        movl  $0x83, %eax               /* present | writable | PS */
        movl  $8, %ecx
1:      movl  %eax, (%edi)
        addl  $0x200000, %eax
        addl  $8, %edi
        loop  1b

        movl  %cr4, %eax
        orl   $0x20, %eax               /* PAE */
        movl  %eax, %cr4
        movl  $PML4, %eax
        movl  %eax, %cr3
        movl  $0xC0000080, %ecx         /* EFER.LME */
        rdmsr
        orl   $0x100, %eax
        wrmsr
        movl  %cr0, %eax
        orl   $0x80000000, %eax         /* PG: long mode active */
        movl  %eax, %cr0
        ljmp  $SEL_CODE64, $(IMG_BASE + start64)

/* ------------------------------------------------------------ 64-bit long mode */
        .code64
start64:
        movq  $0x9000, %rsp
        movabsq $0x5649564152495530, %rax /* pattern */
        movq  $SRC, %rdi
        movq  $COPY_QWORDS, %rcx
        rep stosq
        movq  $SRC, %rsi                /* SRC -> DST */
        movq  $DST, %rdi
        movq  $COPY_QWORDS, %rcx
        rep movsq
        movq  $SRC, %rdi                /* scribble SRC, then DST -> SRC */
        movq  $0x1000, %rcx
        xorl  %eax, %eax
        rep stosq
        movq  $DST, %rsi
        movq  $SRC, %rdi
        movq  $COPY_QWORDS, %rcx
        rep movsq
        movq  $SRC, %rsi                /* compare */
        movq  $DST, %rdi
        movq  $COPY_QWORDS, %rcx
        repe cmpsq
        jne   bad
        movabsq $0x5649564152495530, %rax
        cmpq  %rax, (SRC + 0x3ffff8)
        jne   bad
        movl  $SPIN_LOOPS, %ecx         /* instruction throughput (no memory access) */
2:      decl  %ecx
        jnz   2b
        movb  $EXIT_OK, %al
        outb  %al, $EXIT_PORT
        jmp   halt
bad:    movb  $EXIT_BAD, %al
        outb  %al, $EXIT_PORT
halt:   hlt
        jmp   halt

        .balign 8
gdt:    .quad 0
        .quad 0x00cf9b000000ffff        /* 0x08: 32-bit code, flat, accessed bit preset (ROM) */
        .quad 0x00cf93000000ffff        /* 0x10: data, flat */
        .quad 0x00af9b000000ffff        /* 0x18: 64-bit code (L=1) */
gdt_end:
gdtr:   .word gdt_end - gdt - 1
        .long IMG_BASE + gdt
        .globl code_end
code_end:

/* ------------------------------------------------------------ reset vector: 0xFFFFFFF0 */
        .code16
        .org 0xFFF0
reset:  jmp   start16
        .org 0x10000
