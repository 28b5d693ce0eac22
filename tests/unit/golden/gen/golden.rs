// Golden-file generator for the axharness parser tests (our own code, not upstream's).
//
// It declares look-alike types whose Debug output follows the field-type Debug impls we read in
// the crate sources (GPA always `GPA:{:#x}`, Port/SysRegAddr always decimal, MappingFlags as
// bitflags 2's internal Debug) and lets the real core::fmt derive do everything else: pretty
// printing, PadAdapter indentation, hex flags, arrays and Option.  Run:
//   rustc -O -o /tmp/golden tests/unit/golden/gen/golden.rs && /tmp/golden tests/unit/golden
#![allow(non_camel_case_types, dead_code)]
use std::fmt;
use std::fs::File;
use std::io::Write;

struct Gpa(usize);
impl fmt::Debug for Gpa {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_fmt(format_args!("GPA:{}", format_args!("{:#x}", self.0)))
    }
}
struct Port(u16);
impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, "Port({})", self.0) }
}
struct SysRegAddr(usize);
impl fmt::Debug for SysRegAddr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, "SysRegAddr({})", self.0) }
}
#[derive(Debug, Clone, Copy)]
enum AccessWidth { Byte, Word, Dword, Qword }
struct Flags(usize);
impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.0 == 0 { return write!(f, "{:#x}", 0usize); }
        let names = ["READ", "WRITE", "EXECUTE", "USER", "DEVICE", "UNCACHED"];
        let mut first = true;
        for (i, n) in names.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first { f.write_str(" | ")?; }
                first = false;
                f.write_str(n)?;
            }
        }
        let rest = self.0 & !0x3f;
        if rest != 0 {
            if !first { f.write_str(" | ")?; }
            f.write_str("0x")?;
            write!(f, "{:x}", rest)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
enum G01 {
    Hypercall { nr: u64, args: [u64; 6] },
    MmioRead { addr: Gpa, width: AccessWidth, reg: usize, reg_width: AccessWidth },
    MmioWrite { addr: Gpa, width: AccessWidth, data: u64 },
    SysRegRead { addr: usize, reg: usize },
    SysRegWrite { addr: usize, value: u64 },
    IoRead { port: u16, width: AccessWidth },
    IoWrite { port: u16, width: AccessWidth, data: u64 },
    ExternalInterrupt { vector: u64 },
    NestedPageFault { addr: Gpa, access_flags: Flags },
    Halt,
    CpuUp { target_cpu: u64, entry_point: Gpa, arg: u64 },
    CpuDown { _state: u64 },
    SystemDown,
    Nothing,
    FailEntry { hardware_entry_failure_reason: u64 },
}

#[derive(Debug)]
enum G06 {
    Hypercall { nr: u64, args: [u64; 6] },
    MmioRead { addr: Gpa, width: AccessWidth, reg: usize, reg_width: AccessWidth, signed_ext: bool },
    MmioWrite { addr: Gpa, width: AccessWidth, data: u64 },
    SysRegRead { addr: SysRegAddr, reg: usize },
    SysRegWrite { addr: SysRegAddr, value: u64 },
    IoRead { port: Port, width: AccessWidth },
    IoWrite { port: Port, width: AccessWidth, data: u64 },
    ExternalInterrupt { vector: u64 },
    NestedPageFault { addr: Gpa, access_flags: Flags },
    Halt,
    CpuUp { target_cpu: u64, entry_point: Gpa, arg: u64 },
    CpuDown { _state: u64 },
    SystemDown,
    Nothing,
    PreemptionTimer,
    InterruptEnd { vector: Option<u8> },
    FailEntry { hardware_entry_failure_reason: u64 },
    SendIPI { target_cpu: u64, target_cpu_aux: u64, send_to_all: bool, send_to_self: bool, vector: u64 },
}

// Expected values as JSON, written by hand per variant (independent of the Python model).
fn w(x: AccessWidth) -> &'static str {
    match x { AccessWidth::Byte => "Byte", AccessWidth::Word => "Word", AccessWidth::Dword => "Dword", AccessWidth::Qword => "Qword" }
}
fn json06(e: &G06) -> String {
    use G06::*;
    let (v, f) = match e {
        Hypercall { nr, args } => ("Hypercall", format!("{{\"nr\": {}, \"args\": [{}]}}", nr, args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "))),
        MmioRead { addr, width, reg, reg_width, signed_ext } => ("MmioRead", format!("{{\"addr\": {}, \"width\": \"{}\", \"reg\": {}, \"reg_width\": \"{}\", \"signed_ext\": {}}}", addr.0, w(*width), reg, w(*reg_width), signed_ext)),
        MmioWrite { addr, width, data } => ("MmioWrite", format!("{{\"addr\": {}, \"width\": \"{}\", \"data\": {}}}", addr.0, w(*width), data)),
        SysRegRead { addr, reg } => ("SysRegRead", format!("{{\"addr\": {}, \"reg\": {}}}", addr.0, reg)),
        SysRegWrite { addr, value } => ("SysRegWrite", format!("{{\"addr\": {}, \"value\": {}}}", addr.0, value)),
        IoRead { port, width } => ("IoRead", format!("{{\"port\": {}, \"width\": \"{}\"}}", port.0, w(*width))),
        IoWrite { port, width, data } => ("IoWrite", format!("{{\"port\": {}, \"width\": \"{}\", \"data\": {}}}", port.0, w(*width), data)),
        ExternalInterrupt { vector } => ("ExternalInterrupt", format!("{{\"vector\": {}}}", vector)),
        NestedPageFault { addr, access_flags } => ("NestedPageFault", format!("{{\"addr\": {}, \"access_flags\": {}}}", addr.0, access_flags.0)),
        Halt => ("Halt", "{}".to_string()),
        CpuUp { target_cpu, entry_point, arg } => ("CpuUp", format!("{{\"target_cpu\": {}, \"entry_point\": {}, \"arg\": {}}}", target_cpu, entry_point.0, arg)),
        CpuDown { _state } => ("CpuDown", format!("{{\"_state\": {}}}", _state)),
        SystemDown => ("SystemDown", "{}".to_string()),
        Nothing => ("Nothing", "{}".to_string()),
        PreemptionTimer => ("PreemptionTimer", "{}".to_string()),
        InterruptEnd { vector } => ("InterruptEnd", format!("{{\"vector\": {}}}", match vector { Some(v) => v.to_string(), None => "null".to_string() })),
        FailEntry { hardware_entry_failure_reason } => ("FailEntry", format!("{{\"hardware_entry_failure_reason\": {}}}", hardware_entry_failure_reason)),
        SendIPI { target_cpu, target_cpu_aux, send_to_all, send_to_self, vector } => ("SendIPI", format!("{{\"target_cpu\": {}, \"target_cpu_aux\": {}, \"send_to_all\": {}, \"send_to_self\": {}, \"vector\": {}}}", target_cpu, target_cpu_aux, send_to_all, send_to_self, vector)),
    };
    format!("\"variant\": \"{}\", \"fields\": {}", v, f)
}
fn json01(e: &G01) -> String {
    use G01::*;
    let (v, f) = match e {
        Hypercall { nr, args } => ("Hypercall", format!("{{\"nr\": {}, \"args\": [{}]}}", nr, args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "))),
        MmioRead { addr, width, reg, reg_width } => ("MmioRead", format!("{{\"addr\": {}, \"width\": \"{}\", \"reg\": {}, \"reg_width\": \"{}\"}}", addr.0, w(*width), reg, w(*reg_width))),
        MmioWrite { addr, width, data } => ("MmioWrite", format!("{{\"addr\": {}, \"width\": \"{}\", \"data\": {}}}", addr.0, w(*width), data)),
        SysRegRead { addr, reg } => ("SysRegRead", format!("{{\"addr\": {}, \"reg\": {}}}", addr, reg)),
        SysRegWrite { addr, value } => ("SysRegWrite", format!("{{\"addr\": {}, \"value\": {}}}", addr, value)),
        IoRead { port, width } => ("IoRead", format!("{{\"port\": {}, \"width\": \"{}\"}}", port, w(*width))),
        IoWrite { port, width, data } => ("IoWrite", format!("{{\"port\": {}, \"width\": \"{}\", \"data\": {}}}", port, w(*width), data)),
        ExternalInterrupt { vector } => ("ExternalInterrupt", format!("{{\"vector\": {}}}", vector)),
        NestedPageFault { addr, access_flags } => ("NestedPageFault", format!("{{\"addr\": {}, \"access_flags\": {}}}", addr.0, access_flags.0)),
        Halt => ("Halt", "{}".to_string()),
        CpuUp { target_cpu, entry_point, arg } => ("CpuUp", format!("{{\"target_cpu\": {}, \"entry_point\": {}, \"arg\": {}}}", target_cpu, entry_point.0, arg)),
        CpuDown { _state } => ("CpuDown", format!("{{\"_state\": {}}}", _state)),
        SystemDown => ("SystemDown", "{}".to_string()),
        Nothing => ("Nothing", "{}".to_string()),
        FailEntry { hardware_entry_failure_reason } => ("FailEntry", format!("{{\"hardware_entry_failure_reason\": {}}}", hardware_entry_failure_reason)),
    };
    format!("\"variant\": \"{}\", \"fields\": {}", v, f)
}

fn values06() -> Vec<G06> {
    use AccessWidth::*;
    use G06::*;
    vec![
        Hypercall { nr: 0x485643, args: [0, 1, 0xffff_ffff_ffff_ffff, 0x1234_5678_9abc_def0, 42, 7] },
        MmioRead { addr: Gpa(0x900_0000), width: Dword, reg: 3, reg_width: Qword, signed_ext: false },
        MmioRead { addr: Gpa(0x1000_0005), width: Word, reg: 31, reg_width: Dword, signed_ext: true },
        MmioWrite { addr: Gpa(0x900_0000), width: Byte, data: 0x41 },
        MmioWrite { addr: Gpa(0xffff_ffff_ffff_fff8), width: Qword, data: 0xffff_ffff_ffff_ffff },
        SysRegRead { addr: SysRegAddr(3146240), reg: 0 },
        SysRegWrite { addr: SysRegAddr(0x3a3016), value: 0x0100_0000_0000_0001 },
        IoRead { port: Port(0x3f8), width: Byte },
        IoWrite { port: Port(0xcf8), width: Dword, data: 0x8000_0000 },
        ExternalInterrupt { vector: 27 },
        NestedPageFault { addr: Gpa(0x8000_1000), access_flags: Flags(0x3) },
        NestedPageFault { addr: Gpa(0), access_flags: Flags(0) },
        NestedPageFault { addr: Gpa(0x1000), access_flags: Flags(0x40 | 0x4) },
        NestedPageFault { addr: Gpa(0x2000), access_flags: Flags(0x80) },
        Halt,
        CpuUp { target_cpu: 1, entry_point: Gpa(0x4008_0000), arg: 0xdead_beef },
        CpuDown { _state: 0 },
        SystemDown,
        Nothing,
        PreemptionTimer,
        InterruptEnd { vector: Some(0x20) },
        InterruptEnd { vector: None },
        FailEntry { hardware_entry_failure_reason: 33 },
        SendIPI { target_cpu: 0x100, target_cpu_aux: 0b1010, send_to_all: false, send_to_self: true, vector: 1 },
    ]
}
fn values01() -> Vec<G01> {
    use AccessWidth::*;
    use G01::*;
    vec![
        Hypercall { nr: 0, args: [1, 2, 3, 4, 5, 0xffff_ffff_ffff_ffff] },
        MmioRead { addr: Gpa(0x900_0018), width: Word, reg: 30, reg_width: Qword },
        MmioWrite { addr: Gpa(0x800_0000), width: Dword, data: 10 },
        SysRegRead { addr: 0x30c016, reg: 2 },
        SysRegWrite { addr: 0x830, value: 0x0000_00fd_0000_0000 },
        IoRead { port: 0x3f8, width: Byte },
        IoWrite { port: 0x604, width: Word, data: 0x2000 },
        ExternalInterrupt { vector: 0xff },
        NestedPageFault { addr: Gpa(0xfee0_0000), access_flags: Flags(0x2) },
        Halt,
        CpuUp { target_cpu: 3, entry_point: Gpa(0x8020_0000), arg: 9 },
        CpuDown { _state: 16 },
        SystemDown,
        Nothing,
        FailEntry { hardware_entry_failure_reason: 0 },
    ]
}

fn form<T: fmt::Debug>(v: &T, which: usize) -> String {
    match which { 0 => format!("{:?}", v), 1 => format!("{:x?}", v), 2 => format!("{:#?}", v), _ => format!("{:#x?}", v) }
}
const FORMS: [&str; 4] = ["{:?}", "{:x?}", "{:#?}", "{:#x?}"];

// An axlog line as ax-log 0.5.15 writes it: white prefix, level-coloured message, the reset
// written after the newline (so the next line starts with ESC[m).
fn axlog(out: &mut String, t_us: u64, cpu: usize, task: u64, path: &str, line: u32, color: u8, msg: &str) {
    out.push_str(&format!("\x1b[37m[{:>3}.{:06} {}:{} {}:{}] \x1b[{}m{}\x1b[m\n\x1b[m",
        t_us / 1_000_000, t_us % 1_000_000, cpu, task, path, line, color, msg));
}

fn write_log(dir: &str, name: &str, records: &[(String, String)], crlf: bool) {
    let mut log = String::new();
    let mut exp = String::new();
    log.push_str("\n       d8888                            .d88888b.   .d8888b.\n");
    log.push_str("arch = aarch64\nplatform = aarch64-qemu-virt-hv\nsmp = 1\n\n");
    let mut t = 100_000u64;
    let mut lineno = 1 + log.matches('\n').count();
    axlog(&mut log, t, 0, 0, "axruntime", 130, 32, "Logging is enabled.");
    lineno += 1;
    axlog(&mut log, t + 7, 0, 0, "axruntime", 131, 32, "Primary CPU 0 started, dtb = 0x48000000.");
    lineno += 1;
    for (i, (text, json)) in records.iter().enumerate() {
        t += 1234 + i as u64 * 977;
        if i % 3 == 1 {
            // guest console output between records, and a debug line
            log.push_str("Hello from the guest!\n");
            lineno += 1;
            axlog(&mut log, t - 5, 0, 5, "axvisor::vmm::vcpus", 412, 36, "VM[1] VCpu[0] handling exit");
            lineno += 1;
        }
        exp.push_str(&format!("{{\"line\": {}, {}}}\n", lineno, json));
        axlog(&mut log, t, i % 2, 5 + (i as u64 % 3), "axvm::vm", 623, 90, text);
        lineno += 1 + text.matches('\n').count();
    }
    axlog(&mut log, t + 50, 0, 5, "axvisor::vmm::vcpus", 330, 32, "VM[1] run VCpu[0] SystemDown");
    log.push_str("axvisor:$ ");
    if crlf { log = log.replace('\n', "\r\n"); }
    File::create(format!("{}/{}.log", dir, name)).unwrap().write_all(log.as_bytes()).unwrap();
    File::create(format!("{}/{}.expected.jsonl", dir, name)).unwrap().write_all(exp.as_bytes()).unwrap();
}

fn main() {
    let dir = std::env::args().nth(1).expect("output directory");
    // 1. Every value in every form, for the renderer test.
    for (gen, texts) in [
        ("0.6", values06().iter().map(|v| (0..4).map(|k| form(v, k)).collect::<Vec<_>>()).collect::<Vec<_>>()),
        ("0.1", values01().iter().map(|v| (0..4).map(|k| form(v, k)).collect::<Vec<_>>()).collect::<Vec<_>>()),
    ] {
        let mut out = String::new();
        for (i, per) in texts.iter().enumerate() {
            for (k, t) in per.iter().enumerate() {
                out.push_str(&format!("### {} {}\n{}\n", i, FORMS[k], t));
            }
        }
        File::create(format!("{}/debug-forms-schema-{}.txt", dir, gen)).unwrap().write_all(out.as_bytes()).unwrap();
    }
    // 2. Logs in the form axvm really uses ({:#x?} at trace level).
    let r06: Vec<_> = values06().iter().map(|v| (format!("{:#x?}", v), json06(v))).collect();
    write_log(&dir, "axvcpu-0.7.2-aarch64", &r06, false);
    write_log(&dir, "axvcpu-0.7.2-crlf", &r06, true);
    let r01: Vec<_> = values01().iter().map(|v| (format!("{:#x?}", v), json01(v))).collect();
    write_log(&dir, "schema-0.1", &r01, false);
    let r06c: Vec<_> = values06().iter().map(|v| (format!("{:?}", v), json06(v))).collect();
    write_log(&dir, "axvcpu-0.7.2-compact", &r06c, false);
}
