@ __chkstk for ARM Windows: r4 holds the allocation in words; return it in bytes (no probing here).
	.syntax unified
	.thumb
	.text
	.globl __chkstk
	.p2align 1
	.thumb_func
__chkstk:
	lsls r4, r4, #2
	bx lr
