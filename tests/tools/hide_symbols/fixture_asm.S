/* An assembly global, as OpenSSL's and libffi's are: `.globl` keeps default visibility. */
    .text
    .globl fixture_asm_global
    .type fixture_asm_global, @function
fixture_asm_global:
    movl $2, %eax
    ret
    .size fixture_asm_global, .-fixture_asm_global
    .section .note.GNU-stack,"",@progbits
