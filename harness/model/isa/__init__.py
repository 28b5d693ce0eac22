"""Instruction decoders for the guest instructions that trap to the hypervisor.

One module per architecture (`aarch64`, `riscv64`, `x86_64`), each with a `decode` that
returns frozen dataclasses or raises ModelError; `asm` assembles test snippets with binutils.
"""
