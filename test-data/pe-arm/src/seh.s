@ Hand-written functions with explicit SEH directives, for unwind codes and .xdata forms the
@ compiler does not choose: a conditional epilogue, homed parameters, ldr lr post-increment,
@ 16-bit pops of low registers, vpush of d8-d15, machine frames, a fragment.
	.syntax unified
	.thumb
	.text

@ push {r0-r3}; push {r4-r6, lr}; ...; pop {r4-r6}; ldr pc, [sp], #20  (the doc's example 3)
	.globl homed
	.p2align 1
	.thumb_func
	.seh_proc homed
homed:
	push {r0-r3}
	.seh_save_regs {r0-r3}
	push {r4-r6, lr}
	.seh_save_regs {r4-r6, lr}
	.seh_endprologue
	adds r0, r0, r1
	.seh_startepilogue
	pop {r4-r6}
	.seh_save_regs {r4-r6}
	ldr pc, [sp], #20
	.seh_save_lr 20
	.seh_endepilogue
	.seh_endproc

@ A conditional epilogue (the instructions of an IT block), then the unconditional one.
	.globl conditional
	.p2align 1
	.thumb_func
	.seh_proc conditional
conditional:
	push.w {r4-r8, lr}
	.seh_save_regs_w {r4-r8, lr}
	vpush {d8-d15}
	.seh_save_fregs {d8-d15}
	sub sp, #16
	.seh_stackalloc 16
	.seh_endprologue
	cmp r0, #0
	ittt eq
	.seh_startepilogue_cond eq
	addeq sp, #16
	.seh_stackalloc 16
	vpopeq {d8-d15}
	.seh_save_fregs {d8-d15}
	popeq.w {r4-r8, pc}
	.seh_save_regs_w {r4-r8, lr}
	.seh_endepilogue
	adds r0, #1
	.seh_startepilogue
	add sp, #16
	.seh_stackalloc 16
	vpop {d8-d15}
	.seh_save_fregs {d8-d15}
	pop.w {r4-r8, pc}
	.seh_save_regs_w {r4-r8, lr}
	.seh_endepilogue
	.seh_endproc

@ Frame pointer in r7 saved with mov; the epilogue restores sp from it.
	.globl movsp
	.p2align 1
	.thumb_func
	.seh_proc movsp
movsp:
	push {r4-r7, lr}
	.seh_save_regs {r4-r7, lr}
	mov r7, sp
	.seh_save_sp r7
	sub.w sp, sp, #2048
	.seh_stackalloc_w 2048
	.seh_endprologue
	adds r0, #2
	.seh_startepilogue
	mov sp, r7
	.seh_save_sp r7
	pop {r4-r7, pc}
	.seh_save_regs {r4-r7, lr}
	.seh_endepilogue
	.seh_endproc

@ An interrupt-style handler: the machine frame record { Sp, Pc } is at sp.
	.globl trap_handler
	.p2align 1
	.thumb_func
	.seh_proc trap_handler
trap_handler:
	.seh_custom 0xee, 0x01
	push.w {r11, lr}
	.seh_save_regs_w {r11, lr}
	.seh_endprologue
	bl trap_handler
	udf #0
	.seh_endproc

@ Forms LLVM packs into the .pdata word: a leaf returning with bx lr (Ret 1, L 0).
	.globl leafpair
	.p2align 1
	.thumb_func
	.seh_proc leafpair
leafpair:
	push {r4, r5}
	.seh_save_regs {r4-r5}
	.seh_endprologue
	adds r0, r0, r1
	.seh_startepilogue
	pop {r4, r5}
	.seh_save_regs {r4-r5}
	bx lr
	.seh_nop
	.seh_endepilogue
	.seh_endproc

@ A frame chain of r11 and lr alone: the 16-bit mov r11, sp.
	.globl chain16
	.p2align 1
	.thumb_func
	.seh_proc chain16
chain16:
	push.w {r11, lr}
	.seh_save_regs_w {r11, lr}
	mov r11, sp
	.seh_nop
	sub sp, #8
	.seh_stackalloc 8
	.seh_endprologue
	bl leafpair
	.seh_startepilogue
	add sp, #8
	.seh_stackalloc 8
	pop.w {r11, pc}
	.seh_save_regs_w {r11, lr}
	.seh_endepilogue
	.seh_endproc

@ VFP registers and lr only (R 1, L 1).
	.globl fpsave
	.p2align 1
	.thumb_func
	.seh_proc fpsave
fpsave:
	push {lr}
	.seh_save_regs {lr}
	vpush {d8-d9}
	.seh_save_fregs {d8-d9}
	.seh_endprologue
	bl leafpair
	.seh_startepilogue
	vpop {d8-d9}
	.seh_save_fregs {d8-d9}
	pop {pc}
	.seh_save_regs {lr}
	.seh_endepilogue
	.seh_endproc

@ The stack adjustment folded into the push and the pop (Stack Adjust 0x3F4 and up).
	.globl folded
	.p2align 1
	.thumb_func
	.seh_proc folded
folded:
	push {r2-r7, lr}
	.seh_save_regs {r2-r7, lr}
	.seh_endprologue
	bl leafpair
	.seh_startepilogue
	pop {r2-r7, pc}
	.seh_save_regs {r2-r7, lr}
	.seh_endepilogue
	.seh_endproc

@ A tail call after restoring lr (Ret 2).
	.globl tailb
	.p2align 1
	.thumb_func
	.seh_proc tailb
tailb:
	push {r4, lr}
	.seh_save_regs {r4, lr}
	.seh_endprologue
	bl leafpair
	.seh_startepilogue
	pop.w {r4, lr}
	.seh_save_regs_w {r4, lr}
	b.w leafpair
	.seh_nop_w
	.seh_endepilogue
	.seh_endproc
