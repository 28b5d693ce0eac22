// Golden-file generator for the axvm 0.8 exit schema (our own code, not upstream's).
//
// Look-alike types whose Debug output follows what we read in axvm 0.8.5 (schemas/axvm-0.8.toml
// cites every file): hand-written impls are reproduced in behaviour (GPA/ArmSysRegAddr/X86Port/
// MSR write `{:#x}` whatever the flags), everything else is left to rustc's derive, including
// the bitflags 2 public struct (a derived tuple struct around the internal flags, whose Debug
// is bitflags' `A | B`, extra bits `0x40`, empty `0x0`).  verify_axvm08.py prints the same
// values (axvm08_values.rs) with axvm's own types.rs files and compares.  Run:
//   rustc -O -o /tmp/golden08 tests/unit/golden/gen/golden_axvm08.rs && /tmp/golden08 tests/unit/golden/axvm-0.8
#![allow(dead_code, clippy::all)]
use std::fmt;
use std::fs::File;
use std::io::Write;

// ------------------------------------------------------------------ shared look-alike parts

#[derive(Clone, Copy)]
struct InternalFlags(usize, &'static [&'static str]);
impl fmt::Debug for InternalFlags {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.0 == 0 {
            return write!(f, "{:#x}", 0usize);
        }
        let mut first = true;
        for (i, n) in self.1.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first { f.write_str(" | ")?; }
                first = false;
                f.write_str(n)?;
            }
        }
        let rest = self.0 & !((1usize << self.1.len()) - 1);
        if rest != 0 {
            if !first { f.write_str(" | ")?; }
            f.write_str("0x")?;
            write!(f, "{:x}", rest)?;
        }
        Ok(())
    }
}
macro_rules! hand_written_addr {
    ($name:ident, $int:ty, $prefix:literal) => {
        #[derive(Clone, Copy)]
        pub struct $name($int);
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, "{}({:#x})", $prefix, self.0) }
        }
    };
}
macro_rules! bitflags_lookalike {
    ($name:ident, [$($flag:literal),*]) => {
        #[derive(Debug, Clone, Copy)]
        pub struct $name(InternalFlags);
        impl $name {
            pub const fn from_bits_retain(bits: usize) -> Self { Self(InternalFlags(bits, &[$($flag),*])) }
        }
    };
}

// -------------------------------------------------------------------------------- aarch64

hand_written_addr!(ArmGuestPhysAddr, usize, "GPA");
impl ArmGuestPhysAddr { pub const fn from_usize(a: usize) -> Self { Self(a) } }
hand_written_addr!(ArmSysRegAddr, usize, "ArmSysRegAddr");
impl ArmSysRegAddr { pub const fn new(a: usize) -> Self { Self(a) } }
#[derive(Clone, Copy, Debug)]
pub enum ArmAccessWidth { Byte, Word, Dword, Qword }
#[derive(Clone, Copy, Debug)]
pub enum ArmGicCpuInterfaceRegister { Control, PriorityMask, RunningPriority }
#[derive(Debug)]
pub enum ArmVmExit {
    Hypercall { nr: u64, args: [u64; 6] },
    MmioRead { addr: ArmGuestPhysAddr, width: ArmAccessWidth, reg: usize, reg_width: ArmAccessWidth, signed_ext: bool },
    MmioWrite { addr: ArmGuestPhysAddr, width: ArmAccessWidth, data: u64 },
    SysRegRead { addr: ArmSysRegAddr, reg: usize },
    SysRegWrite { addr: ArmSysRegAddr, value: u64 },
    GicCpuInterfaceRead { register: ArmGicCpuInterfaceRegister, destination: usize },
    GicCpuInterfaceWrite { register: ArmGicCpuInterfaceRegister, value: u64 },
    WaitForInterrupt,
    SendIPI { value: u64 },
    DeactivateInterrupt { intid: u32 },
    Nothing,
}

// -------------------------------------------------------------------------------- riscv64

#[derive(Clone, Copy, Debug)]
pub struct RiscvGuestPhysAddr(usize);
impl RiscvGuestPhysAddr { pub const fn from_usize(a: usize) -> Self { Self(a) } }
#[derive(Clone, Copy, Debug)]
pub enum RiscvAccessWidth { Byte, Word, Dword, Qword }
bitflags_lookalike!(RiscvAccessFlags, ["READ", "WRITE", "EXECUTE", "USER", "DEVICE", "UNCACHED"]);
#[derive(Clone, Copy, Debug)]
pub enum RiscvIpiAbi { Legacy, SbiV02 }
#[derive(Clone, Copy, Debug)]
pub struct RiscvIpiRequest { hart_mask: usize, hart_mask_base: usize, abi: RiscvIpiAbi }
impl RiscvIpiRequest {
    pub const fn new(hart_mask: usize, hart_mask_base: usize, abi: RiscvIpiAbi) -> Self { Self { hart_mask, hart_mask_base, abi } }
}
mod ax_cpu { pub mod virtualization {
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Exit { pub scause: usize, pub stval: usize, pub htval: usize, pub htinst: usize, pub pc: usize }
} }
#[derive(Debug)]
pub enum RiscvVmExit {
    Machine(ax_cpu::virtualization::Exit),
    Hypercall { nr: u64, args: [u64; 6] },
    MmioRead { addr: RiscvGuestPhysAddr, width: RiscvAccessWidth, reg: usize, reg_width: RiscvAccessWidth, signed_ext: bool },
    MmioWrite { addr: RiscvGuestPhysAddr, width: RiscvAccessWidth, data: u64 },
    NestedPageFault { addr: RiscvGuestPhysAddr, access_flags: RiscvAccessFlags },
    SendIpi(RiscvIpiRequest),
    CpuUp { target_cpu: u64, entry_point: RiscvGuestPhysAddr, arg: u64 },
    CpuDown { state: u64 },
    Halt,
    SystemDown,
    Nothing,
}

// --------------------------------------------------------------------------------- x86_64

hand_written_addr!(X86GuestPhysAddr, usize, "GPA");
impl X86GuestPhysAddr { pub const fn from_usize(a: usize) -> Self { Self(a) } }
hand_written_addr!(X86Port, u16, "X86Port");
impl X86Port { pub const fn new(p: u16) -> Self { Self(p) } }
hand_written_addr!(X86MsrAddr, usize, "MSR");
impl X86MsrAddr { pub const fn new(a: usize) -> Self { Self(a) } }
#[derive(Clone, Copy, Debug)]
pub enum X86AccessWidth { Byte, Word, Dword, Qword }
bitflags_lookalike!(X86AccessFlags, ["READ", "WRITE", "EXECUTE"]);
#[derive(Clone, Copy, Debug)]
pub struct X86ByteRegister { gpr: u8, high: bool }
#[derive(Clone, Copy, Debug)]
pub enum X86PortIoDirection { In, Out }
#[derive(Clone, Copy, Debug)]
pub struct X86PortIoStringExit {
    port: X86Port, width: X86AccessWidth, direction: X86PortIoDirection, guest_paddr: X86GuestPhysAddr,
    updated_index: u64, updated_count: Option<u64>, instruction_complete: bool, next_rip: u64,
}
impl X86PortIoStringExit {
    pub fn golden(port: X86Port, width: X86AccessWidth, direction: X86PortIoDirection, guest_paddr: X86GuestPhysAddr,
                  updated_index: u64, updated_count: Option<u64>, instruction_complete: bool, next_rip: u64) -> Self {
        Self { port, width, direction, guest_paddr, updated_index, updated_count, instruction_complete, next_rip }
    }
}
#[derive(Debug)]
pub enum X86VmExit {
    Hypercall { nr: u64, args: [u64; 6] },
    PortIoRead { port: X86Port, width: X86AccessWidth },
    PortIoWrite { port: X86Port, width: X86AccessWidth, data: u64 },
    PortIoString(X86PortIoStringExit),
    MmioRead { addr: X86GuestPhysAddr, width: X86AccessWidth, reg: usize, reg_width: X86AccessWidth, signed_ext: bool, byte_reg: Option<X86ByteRegister> },
    MmioWrite { addr: X86GuestPhysAddr, width: X86AccessWidth, data: u64 },
    MsrRead { addr: X86MsrAddr },
    MsrWrite { addr: X86MsrAddr, value: u64 },
    NestedPageFault { addr: X86GuestPhysAddr, access_flags: X86AccessFlags },
    PreemptionTimer,
    InterruptEnd { vector: Option<u8> },
    Halt,
    SystemDown,
    FailEntry { hardware_entry_failure_reason: usize },
    Nothing,
}

include!("axvm08_values.rs");

// ---------------------------------------------- expected JSON, written from the Rust values

fn args(a: &[u64; 6]) -> String { a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ") }
fn opt<T: ToString>(o: &Option<T>) -> String { o.as_ref().map_or("null".to_string(), |v| v.to_string()) }
fn q<T: fmt::Debug>(x: T) -> String { format!("\"{:?}\"", x) } // a fieldless enum's name
fn j(variant: &str, fields: String) -> String { format!("\"variant\": \"{}\", \"fields\": {{{}}}", variant, fields) }

trait Golden: fmt::Debug {
    fn json(&self) -> String;
    fn logged(&self) -> bool { true }
}
impl Golden for ArmVmExit {
    fn json(&self) -> String {
        use ArmVmExit::*;
        match self {
            Hypercall { nr, args: a } => j("Hypercall", format!("\"nr\": {}, \"args\": [{}]", nr, args(a))),
            MmioRead { addr, width, reg, reg_width, signed_ext } => j("MmioRead", format!("\"addr\": {}, \"width\": {}, \"reg\": {}, \"reg_width\": {}, \"signed_ext\": {}", addr.0, q(width), reg, q(reg_width), signed_ext)),
            MmioWrite { addr, width, data } => j("MmioWrite", format!("\"addr\": {}, \"width\": {}, \"data\": {}", addr.0, q(width), data)),
            SysRegRead { addr, reg } => j("SysRegRead", format!("\"addr\": {}, \"reg\": {}", addr.0, reg)),
            SysRegWrite { addr, value } => j("SysRegWrite", format!("\"addr\": {}, \"value\": {}", addr.0, value)),
            GicCpuInterfaceRead { register, destination } => j("GicCpuInterfaceRead", format!("\"register\": {}, \"destination\": {}", q(register), destination)),
            GicCpuInterfaceWrite { register, value } => j("GicCpuInterfaceWrite", format!("\"register\": {}, \"value\": {}", q(register), value)),
            WaitForInterrupt => j("WaitForInterrupt", String::new()),
            SendIPI { value } => j("SendIPI", format!("\"value\": {}", value)),
            DeactivateInterrupt { intid } => j("DeactivateInterrupt", format!("\"intid\": {}", intid)),
            Nothing => j("Nothing", String::new()),
        }
    }
}
impl Golden for RiscvVmExit {
    fn json(&self) -> String {
        use RiscvVmExit::*;
        match self {
            Machine(e) => j("Machine", format!("\"0\": {{\"scause\": {}, \"stval\": {}, \"htval\": {}, \"htinst\": {}, \"pc\": {}}}", e.scause, e.stval, e.htval, e.htinst, e.pc)),
            Hypercall { nr, args: a } => j("Hypercall", format!("\"nr\": {}, \"args\": [{}]", nr, args(a))),
            MmioRead { addr, width, reg, reg_width, signed_ext } => j("MmioRead", format!("\"addr\": {}, \"width\": {}, \"reg\": {}, \"reg_width\": {}, \"signed_ext\": {}", addr.0, q(width), reg, q(reg_width), signed_ext)),
            MmioWrite { addr, width, data } => j("MmioWrite", format!("\"addr\": {}, \"width\": {}, \"data\": {}", addr.0, q(width), data)),
            NestedPageFault { addr, access_flags } => j("NestedPageFault", format!("\"addr\": {}, \"access_flags\": {}", addr.0, (access_flags.0).0)),
            SendIpi(r) => j("SendIpi", format!("\"0\": {{\"hart_mask\": {}, \"hart_mask_base\": {}, \"abi\": {}}}", r.hart_mask, r.hart_mask_base, q(r.abi))),
            CpuUp { target_cpu, entry_point, arg } => j("CpuUp", format!("\"target_cpu\": {}, \"entry_point\": {}, \"arg\": {}", target_cpu, entry_point.0, arg)),
            CpuDown { state } => j("CpuDown", format!("\"state\": {}", state)),
            Halt => j("Halt", String::new()),
            SystemDown => j("SystemDown", String::new()),
            Nothing => j("Nothing", String::new()),
        }
    }
    fn logged(&self) -> bool { !matches!(self, RiscvVmExit::Machine(_)) }
}
impl Golden for X86VmExit {
    fn json(&self) -> String {
        use X86VmExit::*;
        match self {
            Hypercall { nr, args: a } => j("Hypercall", format!("\"nr\": {}, \"args\": [{}]", nr, args(a))),
            PortIoRead { port, width } => j("PortIoRead", format!("\"port\": {}, \"width\": {}", port.0, q(width))),
            PortIoWrite { port, width, data } => j("PortIoWrite", format!("\"port\": {}, \"width\": {}, \"data\": {}", port.0, q(width), data)),
            PortIoString(s) => j("PortIoString", format!("\"0\": {{\"port\": {}, \"width\": {}, \"direction\": {}, \"guest_paddr\": {}, \"updated_index\": {}, \"updated_count\": {}, \"instruction_complete\": {}, \"next_rip\": {}}}", s.port.0, q(s.width), q(s.direction), s.guest_paddr.0, s.updated_index, opt(&s.updated_count), s.instruction_complete, s.next_rip)),
            MmioRead { addr, width, reg, reg_width, signed_ext, byte_reg } => j("MmioRead", format!("\"addr\": {}, \"width\": {}, \"reg\": {}, \"reg_width\": {}, \"signed_ext\": {}, \"byte_reg\": {}", addr.0, q(width), reg, q(reg_width), signed_ext, byte_reg.map_or("null".to_string(), |b| format!("{{\"gpr\": {}, \"high\": {}}}", b.gpr, b.high)))),
            MmioWrite { addr, width, data } => j("MmioWrite", format!("\"addr\": {}, \"width\": {}, \"data\": {}", addr.0, q(width), data)),
            MsrRead { addr } => j("MsrRead", format!("\"addr\": {}", addr.0)),
            MsrWrite { addr, value } => j("MsrWrite", format!("\"addr\": {}, \"value\": {}", addr.0, value)),
            NestedPageFault { addr, access_flags } => j("NestedPageFault", format!("\"addr\": {}, \"access_flags\": {}", addr.0, (access_flags.0).0)),
            PreemptionTimer => j("PreemptionTimer", String::new()),
            InterruptEnd { vector } => j("InterruptEnd", format!("\"vector\": {}", opt(vector))),
            Halt => j("Halt", String::new()),
            SystemDown => j("SystemDown", String::new()),
            FailEntry { hardware_entry_failure_reason } => j("FailEntry", format!("\"hardware_entry_failure_reason\": {}", hardware_entry_failure_reason)),
            Nothing => j("Nothing", String::new()),
        }
    }
}

// ------------------------------------------------------------------------------- outputs

const FORMS: [&str; 4] = ["{:?}", "{:x?}", "{:#?}", "{:#x?}"];
fn form<T: fmt::Debug>(v: &T, which: usize) -> String {
    match which { 0 => format!("{:?}", v), 1 => format!("{:x?}", v), 2 => format!("{:#?}", v), _ => format!("{:#x?}", v) }
}
fn save(dir: &str, name: &str, text: &str) {
    File::create(format!("{}/{}", dir, name)).unwrap().write_all(text.as_bytes()).unwrap();
}
fn crlf(s: &str) -> String { s.replace('\n', "\r\n") }

// Every value in every form, and the values as JSON (one line each, same order).
fn forms<T: Golden>(dir: &str, arch: &str, values: &[T]) {
    let (mut out, mut js) = (String::new(), String::new());
    for (i, v) in values.iter().enumerate() {
        for (k, f) in FORMS.iter().enumerate() {
            out.push_str(&format!("### {} {}\n{}\n", i, f, form(v, k)));
        }
        js.push_str(&format!("{{{}}}\n", v.json()));
    }
    save(dir, &format!("debug-forms-{}.txt", arch), &out);
    save(dir, &format!("values-{}.jsonl", arch), &js);
}

// The synchronous exit line of the images' axvm patch: ax-runtime 0.13.5's emergency console
// writes `ESC[0m\r\n` before each record (src/serial/mod.rs:1230,1186) and turns every `\n` of
// `AXH-EXIT vm={} vcpu={} {exit:#x?}\n` into `\r\n` (:1258-1262).
fn sync_log<T: Golden>(dir: &str, arch: &str, values: &[T]) {
    let mut log = crlf("\n       d8888            888     888  d8b\nby AxVisor Team\n\n");
    let mut exp = String::new();
    for (i, v) in values.iter().filter(|v| v.logged()).enumerate() {
        let (vm, vcpu) = (1 + i / 7, i % 2);
        if i % 5 == 3 {
            log.push_str("Hello from the guest!\r\n");
        }
        log.push_str("\x1b[0m\r\n");
        let line = 1 + log.matches('\n').count();
        exp.push_str(&format!("{{\"line\": {}, \"vm\": {}, \"vcpu\": {}, {}}}\n", line, vm, vcpu, v.json()));
        log.push_str(&crlf(&format!("AXH-EXIT vm={} vcpu={} {:#x?}\n", vm, vcpu, v)));
    }
    log.push_str("\x1b[0m\r\nARCEOS_PANIC_EMERGENCY\r\n");
    save(dir, &format!("sync-{}.log", arch), &log);
    save(dir, &format!("sync-{}.expected.jsonl", arch), &exp);
}

// A log record as ax-log 0.6.1 (src/lib.rs:176-224, no std) formats it, prefixed by ax-runtime
// 0.13.5's mailbox (src/structured_log.rs:78-96) and `\n` turned into `\r\n`
// (src/serial/log_mailbox.rs:240-247); axvisor 0.8.2's shell writes each drained record as
// `\r ESC[2K` + record + prompt (src/shell/mod.rs:170-173).
fn record(t_us: u64, cpu: usize, task: Option<u64>, path: &str, line: u32, color: u8, msg: &str) -> String {
    let who = match task { Some(t) => format!("{}:{} ", cpu, t), None => format!("{} ", cpu) };
    let rec = format!("\x1b[37m[{:>3}.{:06} {}\x1b[37m{}:{}] \x1b[{}m{}\x1b[m\x1b[m\n",
        t_us / 1_000_000, t_us % 1_000_000, who, path, line, color, msg);
    format!("\r\x1b[2K{}axvisor:$ ", crlf(&rec))
}
fn trace_log<T: Golden>(dir: &str, arch: &str, values: &[T]) {
    let mut log = String::from("axvisor:$ ");
    let mut exp = String::new();
    let mut t = 728_316u64;
    for (i, v) in values.iter().filter(|v| v.logged()).enumerate() {
        t += 1_031 + 17 * i as u64;
        let (cpu, task) = (i % 2, 4_294_967_302u64 + (i % 3) as u64);
        if i % 4 == 1 {
            log.push_str(&record(t - 60, cpu, Some(task), &format!("axvm::arch::{}::policy::vcpu", arch), 258, 90, "vmexit_handler: Data fault @GPA(0x9000018), esr: 0x93820007"));
        }
        if i % 6 == 2 {
            log.push_str(&record(t - 30, cpu, None, "axvisor::vmm", 88, 36, "no task context"));
        }
        let line = 1 + log.matches('\n').count();
        exp.push_str(&format!("{{\"line\": {}, \"cpu\": {}, \"task\": {}, {}}}\n", line, cpu, task, v.json()));
        log.push_str(&record(t, cpu, Some(task), "axvm::architecture::ops", 225, 90, &format!("{:#x?}", v)));
    }
    save(dir, &format!("trace-{}.log", arch), &log);
    save(dir, &format!("trace-{}.expected.jsonl", arch), &exp);
}

fn all<T: Golden>(dir: &str, arch: &str, values: &[T]) {
    forms(dir, arch, values);
    sync_log(dir, arch, values);
    trace_log(dir, arch, values);
}

fn main() {
    let dir = std::env::args().nth(1).expect("output directory");
    std::fs::create_dir_all(&dir).unwrap();
    all(&dir, "aarch64", &arm_values());
    all(&dir, "riscv64", &riscv_values());
    all(&dir, "x86_64", &x86_values());
}
