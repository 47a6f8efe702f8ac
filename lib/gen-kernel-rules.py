#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel model's table, from the kernels' own source (issue 25).

Reads Linux source trees (Debian's linux-source-X packages, unpacked; the
version comes from each tree's Makefile) and writes lib/kernel-rules.c: per
kernel version, with the file and line each rule comes from,

  - the ID register feature tables of arch/arm64/kernel/cpufeature.c: each
    field's register, shift, width, sign, safe-value rule (FTR_LOWER_SAFE,
    FTR_HIGHER_SAFE, FTR_HIGHER_OR_ZERO_SAFE, FTR_EXACT) and safe value,
    which arm64_check_features() applies to a userspace write on 6.7+;
  - what KVM's per-register set_id_*() handlers of arch/arm64/kvm/sys_regs.c
    do to a userspace write before set_id_reg() checks it: a field dropped
    when it equals the host's own (a field older kernels showed the VM and
    this one hides), a value replaced by another (IMP_DEF PMU -> none), and
    the minimums they refuse below (-EINVAL); the statements of a handler
    that only a nested-virtualisation vCPU meets (QEMU's -cpu host has none)
    are left out, and any other is listed in the table as not modelled;
  - the firmware registers of arch/arm64/kvm/hypercalls.c,
    kvm_arm_set_fw_reg(): the PSCI versions it takes from a vCPU with PSCI
    0.2 (as QEMU's are), the workaround levels' rules (WORKAROUND_1/3: at
    most the host's; WORKAROUND_2: the incoming level mapped by its switch,
    then at most the host's, and the bits besides the level), and the
    firmware bitmaps with the features each may hold.

A rule this script cannot find in a tree is an error naming the file: the
table is never guessed.  Usage:

  gen-kernel-rules.py OUT.c TREE...

tests/test-kernel-rules.sh regenerates the table when the trees are there
(make check-kernel-rules fetches them) and compares it with the one checked
in.
"""
import os
import re
import sys

CPUFEATURE = "arch/arm64/kernel/cpufeature.c"
HYPERCALLS = "arch/arm64/kvm/hypercalls.c"
SYS_REGS = "arch/arm64/kvm/sys_regs.c"
SYSREG_TOOL = "arch/arm64/tools/sysreg"
SYSREG_H = "arch/arm64/include/asm/sysreg.h"
UAPI_KVM = "arch/arm64/include/uapi/asm/kvm.h"
PSCI_H = "include/kvm/arm_psci.h"


class SourceError(Exception):
    pass


def read(tree, rel):
    path = os.path.join(tree, rel)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise SourceError(f"{path}: {e.strerror}")


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def version(tree):
    mk = read(tree, "Makefile")
    v = {}
    for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL"):
        m = re.search(rf"^{k}\s*=\s*(\d+)", mk, re.M)
        if not m:
            raise SourceError(f"{tree}/Makefile: no {k}")
        v[k] = int(m.group(1))
    return v["VERSION"], v["PATCHLEVEL"], v["SUBLEVEL"]


def symbols(tree):
    """Register encodings and field shifts/values: tools/sysreg (what the
    kernel generates sysreg-defs.h from) and the #defines of asm/sysreg.h."""
    syms = {}
    text = read(tree, SYSREG_TOOL)
    reg = None
    fields_of = {}      # SysregFields blocks, by name
    block = None
    for raw in text.splitlines():
        t = raw.split("#")[0].split()
        if not t:
            continue
        if t[0] == "Sysreg":
            reg, block = t[1], []
            op = [int(x) for x in t[2:7]]
            syms["SYS_" + reg] = ("reg", tuple(op))
        elif t[0] == "SysregFields":
            reg, block = t[1], []
            fields_of[reg] = block
        elif t[0] in ("EndSysreg", "EndSysregFields"):
            reg = None
        elif t[0] == "Fields" and reg:
            for name, lo, width, vals in fields_of.get(t[1], []):
                syms[f"{reg}_{name}_SHIFT"] = ("int", lo)
                syms[f"{reg}_{name}_WIDTH"] = ("int", width)
                for vn, vv in vals.items():
                    syms[f"{reg}_{name}_{vn}"] = ("int", vv)
        elif t[0] in ("Field", "Enum", "UnsignedEnum", "SignedEnum") and reg:
            hi_lo = t[1].split(":")
            lo, hi = int(hi_lo[-1]), int(hi_lo[0])
            name = t[2]
            syms[f"{reg}_{name}_SHIFT"] = ("int", lo)
            syms[f"{reg}_{name}_WIDTH"] = ("int", hi - lo + 1)
            cur = {}
            if block is not None:
                block.append((name, lo, hi - lo + 1, cur))
            last = (reg, name, cur)
        elif re.match(r"0b[01]+$", t[0]) and reg and len(t) > 1:
            r, name, cur = last
            cur[t[1]] = int(t[0][2:], 2)
            syms[f"{r}_{name}_{t[1]}"] = ("int", int(t[0][2:], 2))
    h = read(tree, SYSREG_H)
    for m in re.finditer(r"^#define\s+(SYS_\w+)\s+sys_reg\((\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)", h, re.M):
        syms.setdefault(m.group(1), ("reg", tuple(int(m.group(i)) for i in range(2, 7))))
    for m in re.finditer(r"^#define\s+(\w+)\s+\(?(0x[0-9a-fA-F]+|\d+)U?L?L?\)?\s*$", h, re.M):
        syms.setdefault(m.group(1), ("int", int(m.group(2), 0)))
    return syms


def value(syms, expr, where):
    expr = expr.strip()
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", expr):
        return int(expr, 0)
    s = syms.get(expr)
    if not s or s[0] != "int":
        raise SourceError(f"{where}: cannot resolve {expr}")
    return s[1]


FTR_TYPES = {"FTR_EXACT": "CPREG_SAFE_EXACT", "FTR_LOWER_SAFE": "CPREG_SAFE_LOWER",
             "FTR_HIGHER_SAFE": "CPREG_SAFE_HIGHER", "FTR_HIGHER_OR_ZERO_SAFE": "CPREG_SAFE_HIGHER_OR_ZERO"}


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def id_fields(tree, syms):
    """(op, shift, width, signed, rule, safe, line, register name) of every
    field of every register in arm64_ftr_regs[]."""
    text = read(tree, CPUFEATURE)
    tables = {}
    for m in re.finditer(r"static const struct arm64_ftr_bits (\w+)\[\] = \{(.*?)\n\};", text, re.S):
        body_at = m.start(2)
        entries = []
        for e in re.finditer(r"\b(S_)?ARM64_FTR_BITS\(((?:[^()]|\([^()]*\))*)\)", m.group(2)):
            args = split_args(e.group(2))
            if len(args) != 6:
                raise SourceError(f"{CPUFEATURE}:{line_of(text, body_at + e.start())}: ARM64_FTR_BITS with "
                                  f"{len(args)} arguments")
            entries.append((bool(e.group(1)), args, line_of(text, body_at + e.start())))
        tables[m.group(1)] = entries
    regs = re.search(r"arm64_ftr_regs\[\] = \{(.*?)\n\};", text, re.S)
    if not regs:
        raise SourceError(f"{CPUFEATURE}: no arm64_ftr_regs[]")
    out = []
    for m in re.finditer(r"ARM64_FTR_REG(?:_OVERRIDE)?\((SYS_\w+),\s*(\w+)", regs.group(1)):
        reg, table = m.group(1), m.group(2)
        enc = syms.get(reg)
        if not enc or enc[0] != "reg":
            raise SourceError(f"{CPUFEATURE}: register {reg}: no encoding in {SYSREG_TOOL} or {SYSREG_H}")
        if table not in tables:
            raise SourceError(f"{CPUFEATURE}: register {reg}: no table {table}")
        for signed, args, line in tables[table]:
            where = f"{CPUFEATURE}:{line}"
            rule = FTR_TYPES.get(args[2])
            if not rule:
                raise SourceError(f"{where}: unknown safe-value rule {args[2]}")
            out.append([enc[1], value(syms, args[3], where), value(syms, args[4], where), signed, rule,
                        value(syms, args[5], where), line, reg[4:] + "." + re.sub(r"^.*_EL\d_|_SHIFT$", "", args[3])])
    return out


def kvm_checks(tree, syms, fields):
    """From 6.7, set_id_reg() checks a write with arm64_check_features(),
    through kvm_arm64_ftr_safe_value(), which gives some fields another
    rule than the host's: applied to fields.  Returns the line of
    arm64_check_features(), or 0 when this kernel has none (its ID registers
    are invariant to userspace)."""
    text = read(tree, SYS_REGS)
    m = re.search(r"^static int arm64_check_features\(", text, re.M)
    if not m:
        return 0
    at, body = func_body(text, "kvm_arm64_ftr_safe_value", SYS_REGS)
    reg = None
    pending = None
    for off, ln in enumerate(body.splitlines()):
        c = re.match(r"\s*case (SYS_\w+):", ln)
        if c:
            reg = c.group(1)
            continue
        c = re.match(r"\s*case (\w+_SHIFT):", ln) or re.search(r"if \(kvm_ftr\.shift == (\w+_SHIFT)\)", ln)
        if c:
            pending = c.group(1)
        c = re.search(r"kvm_ftr\.type = (FTR_\w+);", ln)
        if c and reg and pending:
            enc = syms[reg][1]
            shift = value(syms, pending, SYS_REGS)
            hit = [f for f in fields if f[0] == enc and f[1] == shift]
            if not hit:
                raise SourceError(f"{SYS_REGS}:{line_of(text, at) + off}: {reg} {pending}: no such field in {CPUFEATURE}")
            for f in hit:
                f[4] = FTR_TYPES[c.group(1)]
                f[6] = line_of(text, at) + off
                f[7] += " (KVM)"
            pending = None
    return line_of(text, m.start())


ADJ = {"ignore": "CPREG_KADJ_IGNORE_IF_HOST", "replace": "CPREG_KADJ_REPLACE", "min": "CPREG_KADJ_MIN",
       "min0": "CPREG_KADJ_MIN_OR_ZERO", "lower": "CPREG_KADJ_AT_MOST_HOST"}


def setters(tree, syms):
    """The set_id_<register>() handlers of sys_regs.c: (rules, not_modelled).
    A rule is [op, shift, width, kind, a, b, line, label]: ignore (the field
    dropped from the write when it equals the host's), replace (value a
    written as b), min (at least a), min0 (0, or at least a), lower (at most
    the destination's own value, and at most a)."""
    text = read(tree, SYS_REGS)
    rules, skipped = [], []

    def field(base, reg, where):
        if not base.startswith(reg + "_") or base + "_SHIFT" not in syms:
            raise SourceError(f"{where}: {base}: not a field of {reg}")
        return syms[base + "_SHIFT"][1], syms[base + "_WIDTH"][1], base[len(reg) + 1:]

    for m in re.finditer(r"^static int set_id_(\w+)\(", text, re.M):
        if m.group(1) == "reg":
            continue
        reg = "ID_" + m.group(1).upper()
        enc = syms.get("SYS_" + reg)
        if not enc or enc[0] != "reg":
            raise SourceError(f"{SYS_REGS}:{line_of(text, m.start())}: set_id_{m.group(1)}(): no register {reg}")
        at, body = func_body(text, "set_id_" + m.group(1), SYS_REGS)
        first = line_of(text, at)
        lines = body.splitlines()
        var = {}
        for off, ln in enumerate(lines):
            where = f"{SYS_REGS}:{first + off}"
            c = re.match(r"\s*u8 (\w+) = SYS_FIELD_GET\((\w+), (\w+), \w+\);", ln)
            if c:
                if c.group(2) != reg:
                    raise SourceError(f"{where}: {c.group(2)} read in the handler of {reg}")
                var[c.group(1)] = f"{reg}_{c.group(3)}"
                continue
            c = re.match(r"\s*(\w+) = cpuid_feature_extract_unsigned_field\(val, (\w+)_SHIFT\);", ln)
            if c:
                var[c.group(1)] = c.group(2)
                continue
            c = re.match(r"\s*u64 (\w+) = (\w+)_MASK;", ln)
            if c:
                var[c.group(1)] = c.group(2)
                continue
            if "vcpu_has_nv" in ln or "ignore_feat_doublelock" in ln:
                if re.match(r"\s*if \(!vcpu_has_nv\(vcpu\)\)", ln):
                    break   # the rest of the handler is for a nested-virtualisation vCPU only
                # Only an NV vCPU meets it; the same condition's other terms are still read below.
                if not re.search(r"FIELD_GET\(\w+, user_val\)\s*\|\|", ln):
                    continue
            if not re.match(r"\s*if \(", ln):
                continue
            nxt = "\n".join(lines[off + 1:off + 4])
            c = re.match(r"\s*if \(\(hw_val & (\w+)\) == \(user_val & \1\)\)", ln)
            if c and c.group(1) in var:
                sh, wd, name = field(var[c.group(1)], reg, where)
                rules.append([enc[1], sh, wd, "ignore", 0, 0, first + off, f"{reg}.{name}"])
                continue
            c = re.match(r"\s*if \((\w+) == (\w+)\)\s*\{?\s*$", ln)
            d = re.match(r"\s*(?:user_)?val &= ~(\w+)_MASK;", nxt)
            if c and c.group(1) in var and d and d.group(1) == var[c.group(1)]:
                sh, wd, name = field(var[c.group(1)], reg, where)
                rules.append([enc[1], sh, wd, "replace", value(syms, c.group(2), where), 0, first + off,
                              f"{reg}.{name}"])
                continue
            c = re.match(r"\s*if \((?:(\w+) != 0 && )?(\w+) < (\w+)\)\s*$", ln)
            if c and c.group(2) in var and re.match(r"\s*return -EINVAL;", nxt) and c.group(1) in (None, c.group(2)):
                sh, wd, name = field(var[c.group(2)], reg, where)
                rules.append([enc[1], sh, wd, "min0" if c.group(1) else "min", value(syms, c.group(3), where), 0,
                              first + off, f"{reg}.{name}"])
                continue
            # Before 6.7 (invariant ID registers): "if (csv2 > 1 || (csv2 && <host affected>)) return
            # -EINVAL", and the other bits must equal the host's: at most the destination's own value,
            # which read_id_reg() makes 1 only on an unaffected host.
            c = re.match(r"\s*if \((\w+) > 1 \|\|\s*$", ln)
            if c and c.group(1) in var and re.match(rf"\s*\({c.group(1)} && arm64_get_\w+_state\(\) != "
                                                     r"SPECTRE_UNAFFECTED\)\)", nxt):
                sh, wd, name = field(var[c.group(1)], reg, where)
                rules.append([enc[1], sh, wd, "lower", 1, 0, first + off, f"{reg}.{name}"])
                continue
            if re.match(r"\s*if \(val\)\s*$", ln) and re.search(r"val \^= read_id_reg\(vcpu, rd\);",
                                                                  "\n".join(lines[max(0, off - 4):off])):
                continue   # the rest of the register: the host's own value (set_id_reg's invariance)
            c = re.findall(r"!FIELD_GET\((\w+), user_val\)", ln + nxt.split("return")[0])
            if c and re.search(r"return -EINVAL;", nxt):
                for base in c:
                    sh, wd, name = field(base, reg, where)
                    if "vcpu_has_nv(vcpu) && !FIELD_GET(" + base in ln + nxt:
                        continue
                    rules.append([enc[1], sh, wd, "min", 1, 0, first + off, f"{reg}.{name}"])
                continue
            skipped.append((first + off, f"set_id_{m.group(1)}(): " + " ".join(ln.split())))
    return rules, skipped


def func_body(text, name, path):
    m = re.search(rf"^[\w\s\*]*\b{name}\([^)]*\)\s*\{{", text, re.M)
    if not m:
        raise SourceError(f"{path}: no function {name}()")
    depth, i = 1, m.end()
    while depth and i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return m.end(), text[m.end():i]


def psci_defs(tree):
    h = read(tree, PSCI_H)
    return {m.group(1): (int(m.group(2)) << 16) | int(m.group(3))
            for m in re.finditer(r"#define\s+(KVM_ARM_PSCI_\d_\d)\s+PSCI_VERSION\((\d+),\s*(\d+)\)", h)}


def firmware(tree):
    text = read(tree, HYPERCALLS)
    at, body = func_body(text, "kvm_arm_set_fw_reg", HYPERCALLS)
    fw = {}
    # PSCI: the versions of the "if (!wants_02) return -EINVAL" group.
    m = re.search(r"case KVM_REG_ARM_PSCI_VERSION:.*?switch \(val\) \{(.*?)\n\t\t\}", body, re.S)
    if not m:
        raise SourceError(f"{HYPERCALLS}: kvm_arm_set_fw_reg(): no PSCI version switch")
    groups = re.findall(r"((?:\s*case (KVM_ARM_PSCI_\d_\d):)+)(.*?)(?=\n\t\tcase|\Z)", m.group(1), re.S)
    defs = psci_defs(tree)
    fw["psci"] = []
    for labels, _, action in groups:
        if "!wants_02" in action:
            fw["psci"] += [defs[l] for l in re.findall(r"KVM_ARM_PSCI_\d_\d", labels)]
    if not fw["psci"]:
        raise SourceError(f"{HYPERCALLS}: no PSCI version taken with PSCI 0.2")
    fw["psci_line"] = line_of(text, at + m.start())
    # WORKAROUND_1 and _3: "get_kernel_wa_level(...) < val" refuses.
    m = re.search(r"case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1:\s*case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3:(.*?)return 0;",
                  body, re.S)
    if not m or not re.search(r"get_kernel_wa_level\([^)]*\)\s*<\s*val", m.group(1)):
        raise SourceError(f"{HYPERCALLS}: kvm_arm_set_fw_reg(): WORKAROUND_1/3 not as \"level at most the host's\"")
    fw["wa13_line"] = line_of(text, at + m.start())
    # WORKAROUND_2: the switch mapping incoming levels, then "< wa_level".
    m = re.search(r"case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2:(.*?)return 0;", body, re.S)
    if not m:
        raise SourceError(f"{HYPERCALLS}: kvm_arm_set_fw_reg(): no WORKAROUND_2 case")
    wa2 = m.group(1)
    uapi = read(tree, UAPI_KVM)
    lv = {n: int(v) for n, v in re.findall(r"#define\s+KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_(\w+)\s+(\d+)\s*$", uapi, re.M)}
    en = re.search(r"#define\s+KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_ENABLED\s+\(1U?\s*<<\s*(\d+)\)", uapi)
    mapping = {}
    for labels, target in re.findall(r"((?:\s*case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_\w+:)+)\s*wa_level = "
                                     r"KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_(\w+);", wa2):
        for l in re.findall(r"WORKAROUND_2_(\w+):", labels):
            mapping[lv[l]] = lv[target]
    if sorted(mapping) != [0, 1, 2, 3] or not re.search(r"get_kernel_wa_level\([^)]*\)\s*<\s*wa_level", wa2):
        raise SourceError(f"{HYPERCALLS}: kvm_arm_set_fw_reg(): WORKAROUND_2's levels not as expected")
    fw["wa2_map"] = [mapping[i] for i in range(4)]
    fw["wa2_enabled"] = (1 << int(en.group(1))) if en and "ENABLED" in wa2 else 0
    fw["wa2_enabled_with"] = lv["AVAIL"]
    fw["wa2_line"] = line_of(text, at + m.start())
    # Bitmaps: each register of kvm_arm_set_fw_reg_bmap() and its feature count.
    at2, bmap = func_body(text, "kvm_arm_set_fw_reg_bmap", HYPERCALLS)
    fw["bmaps"] = []
    for reg, feat in re.findall(r"case (KVM_REG_ARM_\w+_BMAP\w*):.*?fw_reg_features = (KVM_ARM_SMCCC_\w+);", bmap, re.S):
        n = re.search(rf"#define\s+{reg}\s+KVM_REG_ARM_FW_FEAT_BMAP_REG\((\d+)\)", uapi)
        g = re.search(rf"#define\s+{feat}\s*\\?\s*GENMASK\((\w+)\s*-\s*1,\s*0\)", text)
        if not n or not g:
            raise SourceError(f"{HYPERCALLS}: bitmap {reg}: its register or features not found")
        enum = re.search(r"enum \{([^}]*?)\b" + g.group(1) + r"\b", uapi, re.S)
        if not enum:
            raise SourceError(f"{UAPI_KVM}: no enum ending in {g.group(1)}")
        count = len(re.findall(r"^\s*KVM_REG_ARM_\w+_BIT_\w+\s*=", enum.group(1), re.M))
        fw["bmaps"].append((int(n.group(1)), (1 << count) - 1, reg))
    if not fw["bmaps"]:
        raise SourceError(f"{HYPERCALLS}: kvm_arm_set_fw_reg_bmap(): no bitmap")
    fw["bmap_line"] = line_of(text, at2)
    return fw


def emit(out, kernels):
    w = out.write
    w("/* SPDX-License-Identifier: GPL-2.0-or-later */\n")
    w("/*\n * Generated by lib/gen-kernel-rules.py from the kernel sources each entry\n"
      " * names; do not edit: regenerate (tests/test-kernel-rules.sh).\n */\n")
    w('#include "config.h"\n\n#include "cpreg-internal.h"\n\n')
    for k in kernels:
        tag = f"k{k['ver'][0]}_{k['ver'][1]}"
        w(f"/* Linux {k['release']}: {CPUFEATURE}, arm64_ftr_regs[]; lines of {CPUFEATURE}, or of {SYS_REGS} "
          f"for a rule KVM changes */\n")
        w(f"static const struct cpreg_kfield {tag}_fields[] = {{\n")
        for op, sh, wd, sg, rule, safe, line, reg in k["fields"]:
            w(f"\t{{ CPREG_SYSREG({', '.join(map(str, op))}), {sh}, {wd}, {'true' if sg else 'false'}, {rule}, "
              f"{safe}, {line} }}, /* {reg} */\n")
        w("};\n")
        fw = k["fw"]
        w(f"/* Linux {k['release']}: {SYS_REGS}, the set_id_*() handlers: what a userspace write meets before "
          f"set_id_reg() */\n")
        for line, what in k["skipped"]:
            w(f"/* not modelled ({SYS_REGS}:{line}, the trial answers): {what.replace('*/', '* /')} */\n")
        w(f"static const struct cpreg_kadjust {tag}_adjusts[] = {{\n")
        for op, sh, wd, kind, a, b, line, label in k["adjusts"]:
            w(f"\t{{ CPREG_SYSREG({', '.join(map(str, op))}), {sh}, {wd}, {ADJ[kind]}, {a}, {b}, {line} }}, "
              f"/* {label} */\n")
        w("};\n")
        w(f"static const uint32_t {tag}_psci[] = {{ {', '.join(hex(v) for v in fw['psci'])} }};\n")
        w(f"static const struct cpreg_kbitmap {tag}_bmaps[] = {{\n")
        for n, mask, reg in fw["bmaps"]:
            w(f"\t{{ {n}, {hex(mask)} }}, /* {reg} */\n")
        w("};\n\n")
    w("const struct cpreg_krules cpreg_krules[] = {\n")
    for k in kernels:
        tag = f"k{k['ver'][0]}_{k['ver'][1]}"
        fw = k["fw"]
        w(f"\t{{ .major = {k['ver'][0]}, .minor = {k['ver'][1]}, .release = \"{k['release']}\",\n"
          f"\t  .fields = {tag}_fields, .n_fields = ARRAY_SIZE({tag}_fields), .check_line = {k['check_line']},\n"
          f"\t  .adjusts = {tag}_adjusts, .n_adjusts = ARRAY_SIZE({tag}_adjusts),\n"
          f"\t  .psci = {tag}_psci, .n_psci = ARRAY_SIZE({tag}_psci), .psci_line = {fw['psci_line']},\n"
          f"\t  .wa13_line = {fw['wa13_line']},\n"
          f"\t  .wa2_map = {{ {', '.join(map(str, fw['wa2_map']))} }}, .wa2_enabled = {hex(fw['wa2_enabled'])}, "
          f".wa2_enabled_with = {fw['wa2_enabled_with']}, .wa2_line = {fw['wa2_line']},\n"
          f"\t  .bmaps = {tag}_bmaps, .n_bmaps = ARRAY_SIZE({tag}_bmaps), .bmap_line = {fw['bmap_line']} }},\n")
    w("};\n\nconst size_t cpreg_n_krules = ARRAY_SIZE(cpreg_krules);\n")


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: gen-kernel-rules.py OUT.c TREE...", file=sys.stderr)
        return 2
    kernels = []
    try:
        for tree in argv[2:]:
            v = version(tree)
            syms = symbols(tree)
            fields = id_fields(tree, syms)
            # The model finds a register's fields by binary search (lib/kmodel.c).
            if [f[0] for f in fields] != sorted(f[0] for f in fields):
                raise SourceError(f"{CPUFEATURE}: arm64_ftr_regs[] is not sorted by encoding")
            adjusts, skipped = setters(tree, syms)
            kernels.append({"ver": v[:2], "release": "%d.%d.%d" % v, "fields": fields,
                            "adjusts": adjusts, "skipped": skipped,
                            "check_line": kvm_checks(tree, syms, fields), "fw": firmware(tree)})
    except SourceError as e:
        print(f"gen-kernel-rules.py: {e}", file=sys.stderr)
        return 1
    kernels.sort(key=lambda k: k["ver"])
    tmp = argv[1] + ".tmp"
    with open(tmp, "w") as out:
        emit(out, kernels)
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
