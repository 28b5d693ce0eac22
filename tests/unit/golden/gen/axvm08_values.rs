// Test values of the axvm 0.8 exit enums (our own code).  Included by golden_axvm08.rs, which
// declares look-alike types, and by verify_axvm08.py, which compiles axvm's own types.rs files:
// both must print the same text.  Only the constructors the real crates offer are used.

pub fn arm_values() -> Vec<ArmVmExit> {
    use ArmAccessWidth::*;
    use ArmGicCpuInterfaceRegister::*;
    let gpa = ArmGuestPhysAddr::from_usize;
    vec![
        ArmVmExit::Hypercall { nr: 0x8400_0008, args: [0, 0x91, 0, 0, 0, 0] },
        ArmVmExit::Hypercall { nr: 0xc400_0003, args: [1, 0x4008_0000, 0x42, 7, 0, u64::MAX] },
        ArmVmExit::MmioRead { addr: gpa(0x900_0018), width: Dword, reg: 2, reg_width: Dword, signed_ext: false },
        ArmVmExit::MmioRead { addr: gpa(usize::MAX - 7), width: Qword, reg: 30, reg_width: Qword, signed_ext: true },
        ArmVmExit::MmioRead { addr: gpa(0), width: Word, reg: 0, reg_width: Dword, signed_ext: false },
        ArmVmExit::MmioWrite { addr: gpa(0x900_0000), width: Byte, data: 0x41 },
        ArmVmExit::MmioWrite { addr: gpa(0x800_0000), width: Qword, data: u64::MAX },
        ArmVmExit::SysRegRead { addr: ArmSysRegAddr::new(0x30_c016), reg: 0 },
        ArmVmExit::SysRegRead { addr: ArmSysRegAddr::new(0), reg: 31 },
        ArmVmExit::SysRegWrite { addr: ArmSysRegAddr::new(0x3a_3016), value: 0x0100_0000_0000_0001 },
        ArmVmExit::GicCpuInterfaceRead { register: Control, destination: 3 },
        ArmVmExit::GicCpuInterfaceRead { register: PriorityMask, destination: 0 },
        ArmVmExit::GicCpuInterfaceRead { register: RunningPriority, destination: 30 },
        ArmVmExit::GicCpuInterfaceWrite { register: PriorityMask, value: 0xff },
        ArmVmExit::GicCpuInterfaceWrite { register: Control, value: 0 },
        ArmVmExit::WaitForInterrupt,
        ArmVmExit::SendIPI { value: 0x0001_0000_0100_0002 },
        ArmVmExit::SendIPI { value: 0x0000_0100_0300_0000 },
        ArmVmExit::DeactivateInterrupt { intid: 27 },
        ArmVmExit::DeactivateInterrupt { intid: u32::MAX },
        ArmVmExit::Nothing,
    ]
}

pub fn riscv_values() -> Vec<RiscvVmExit> {
    use RiscvAccessWidth::*;
    let gpa = RiscvGuestPhysAddr::from_usize;
    let flags = RiscvAccessFlags::from_bits_retain;
    vec![
        RiscvVmExit::Machine(ax_cpu::virtualization::Exit {
            scause: 0x8000_0000_0000_0009, stval: 0, htval: 0x400_0000, htinst: 0x3020_0073, pc: 0x8020_0000,
        }),
        RiscvVmExit::Hypercall { nr: 0x48_5643, args: [0, 1, u64::MAX, 0x1234_5678_9abc_def0, 42, 7] },
        RiscvVmExit::MmioRead { addr: gpa(0x1000_0005), width: Byte, reg: 6, reg_width: Qword, signed_ext: false },
        RiscvVmExit::MmioRead { addr: gpa(usize::MAX), width: Dword, reg: 31, reg_width: Qword, signed_ext: true },
        RiscvVmExit::MmioWrite { addr: gpa(0x1000_0000), width: Byte, data: 0x3a },
        RiscvVmExit::MmioWrite { addr: gpa(0), width: Qword, data: u64::MAX },
        RiscvVmExit::NestedPageFault { addr: gpa(0x8000_1000), access_flags: flags(0b11) },
        RiscvVmExit::NestedPageFault { addr: gpa(0x2000), access_flags: flags(0) },
        RiscvVmExit::NestedPageFault { addr: gpa(0x3000), access_flags: flags(0x40 | 0x4) },
        RiscvVmExit::NestedPageFault { addr: gpa(0x4000), access_flags: flags(0x80) },
        RiscvVmExit::NestedPageFault { addr: gpa(0x5000), access_flags: flags(0x3f) },
        RiscvVmExit::SendIpi(RiscvIpiRequest::new(0b10, 0, RiscvIpiAbi::SbiV02)),
        RiscvVmExit::SendIpi(RiscvIpiRequest::new(0, usize::MAX, RiscvIpiAbi::Legacy)),
        RiscvVmExit::CpuUp { target_cpu: 1, entry_point: gpa(0x8020_0000), arg: 0x42 },
        RiscvVmExit::CpuDown { state: 0 },
        RiscvVmExit::Halt,
        RiscvVmExit::SystemDown,
        RiscvVmExit::Nothing,
    ]
}

pub fn x86_values() -> Vec<X86VmExit> {
    use X86AccessWidth::*;
    use X86PortIoDirection::*;
    let gpa = X86GuestPhysAddr::from_usize;
    let flags = X86AccessFlags::from_bits_retain;
    vec![
        X86VmExit::Hypercall { nr: 0, args: [1, 2, 3, 4, 5, u64::MAX] },
        X86VmExit::PortIoRead { port: X86Port::new(0x3f8), width: Byte },
        X86VmExit::PortIoRead { port: X86Port::new(0), width: Dword },
        X86VmExit::PortIoWrite { port: X86Port::new(0x604), width: Word, data: 0x2000 },
        X86VmExit::PortIoWrite { port: X86Port::new(0xffff), width: Dword, data: 0xffff_ffff },
        X86VmExit::PortIoString(X86PortIoStringExit::golden(
            X86Port::new(0x3f8), Byte, Out, gpa(0x1000), 0x1001, Some(3), false, 0x10_0005,
        )),
        X86VmExit::PortIoString(X86PortIoStringExit::golden(
            X86Port::new(0x1f0), Word, In, gpa(0), 0, None, true, u64::MAX,
        )),
        X86VmExit::MmioRead { addr: gpa(0xfee0_0020), width: Dword, reg: 0, reg_width: Dword, signed_ext: false, byte_reg: None },
        X86VmExit::MmioRead {
            addr: gpa(0xfec0_0010), width: Byte, reg: 0, reg_width: Byte, signed_ext: false,
            byte_reg: Some(X86ByteRegister { gpr: 0, high: true }),
        },
        X86VmExit::MmioRead {
            addr: gpa(usize::MAX), width: Byte, reg: 15, reg_width: Qword, signed_ext: true,
            byte_reg: Some(X86ByteRegister { gpr: 255, high: false }),
        },
        X86VmExit::MmioWrite { addr: gpa(0xfee0_00b0), width: Dword, data: 0 },
        X86VmExit::MsrRead { addr: X86MsrAddr::new(0x1b) },
        X86VmExit::MsrRead { addr: X86MsrAddr::new(0xc000_0080) },
        X86VmExit::MsrWrite { addr: X86MsrAddr::new(0x830), value: 0x0000_00fd_0000_0000 },
        X86VmExit::NestedPageFault { addr: gpa(0x8000_1000), access_flags: flags(0b111) },
        X86VmExit::NestedPageFault { addr: gpa(0x2000), access_flags: flags(0) },
        X86VmExit::NestedPageFault { addr: gpa(0x3000), access_flags: flags(0x8 | 0x2) },
        X86VmExit::PreemptionTimer,
        X86VmExit::InterruptEnd { vector: Some(0x20) },
        X86VmExit::InterruptEnd { vector: None },
        X86VmExit::Halt,
        X86VmExit::SystemDown,
        X86VmExit::FailEntry { hardware_entry_failure_reason: usize::MAX },
        X86VmExit::FailEntry { hardware_entry_failure_reason: 0 },
        X86VmExit::Nothing,
    ]
}
