#!/usr/bin/python3
# 091: bench/vm/guest-run's pure logic, without booting a guest (make test
# must not need qemu or a kernel): the newc cpio writer read back, module
# load order from .modinfo dependencies (an object file made here), the
# static-ELF check, the KVM/TCG choice, the guest's config and job script
# as the shell reads them, and bad usage.
import importlib.machinery
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import T  # noqa: E402

t = T()
SRC = os.environ.get("CQ_SRCDIR") or os.path.join(os.path.dirname(__file__),
                                                  "..")
path = os.path.join(SRC, "bench", "vm", "guest-run")
loader = importlib.machinery.SourceFileLoader("guest_run", path)
spec = importlib.util.spec_from_loader("guest_run", loader)
gr = importlib.util.module_from_spec(spec)
loader.exec_module(gr)
tmp = tempfile.mkdtemp(prefix="cqvm-test-")
t.cleanup(lambda: shutil.rmtree(tmp, ignore_errors=True))


def read_cpio(data):
    """[(name, mode, data, rdev)] of a newc archive, checking alignment."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701", "magic at %d" % off
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16)
             for i in range(13)]
        mode, size, rmaj, rmin, nsize = f[1], f[6], f[9], f[10], f[11]
        name = data[off + 110:off + 110 + nsize - 1].decode()
        assert data[off + 110 + nsize - 1] == 0, "name ends with NUL"
        off += 110 + nsize
        off += (-off) % 4
        body = data[off:off + size]
        off += size + (-size) % 4
        if name == "TRAILER!!!":
            return out, off
        out.append((name, mode, body, (rmaj, rmin)))


# The cpio writer, read back.
ents = [("bin", 0o40755, b"", None), ("dev/console", 0o20600, b"", (5, 1)),
        ("init", 0o100755, b"#!/bin/sh\n", None),
        ("bin/x", 0o100644, b"abcde", None)]
arc = gr.cpio_archive(ents)
back, end = read_cpio(arc)
t.is_(end, len(arc), "cpio: the trailer ends the archive")
t.is_(len(arc) % 4, 0, "cpio: the archive is 4-byte aligned")
t.is_([(n, m, d) for n, m, d, _ in back],
      [(n, m, d) for n, m, d, _ in ents], "cpio: names, modes, data back")
t.is_(back[1][3], (5, 1), "cpio: /dev/console is char device 5,1")

# Module order: dependencies first, each once; a missing name is built in.
deps = {"9p": ["netfs", "9pnet"], "9pnet_virtio": ["9pnet", "virtio_ring",
                                                   "virtio"],
        "9pnet": [], "netfs": ["fscache"], "fscache": ["netfs_core"],
        "virtio_ring": [], "virtio": [], "overlay": []}
order = gr.module_order(deps.get, ["9pnet_virtio", "9p", "overlay",
                                   "virtio_pci"])
t.is_(len(order), len(set(order)), "modules: each loaded once")
t.ok(all(order.index(d) < order.index(m) for m in order
         for d in deps[m] if d in deps), "modules: dependencies first")
t.ok("virtio_pci" not in order and "netfs_core" not in order,
     "modules: names without a module file are taken as built in")
try:
    gr.module_order({"a": ["b"], "b": ["a"]}.get, ["a"])
    t.ok(False, "modules: a dependency loop fails")
except gr.Fail as e:
    t.ok("a -> b -> a" in str(e), "modules: a dependency loop fails (%s)"
         % e)
t.is_(gr.mod_name("kernel/net/9p/9pnet-virtio.ko.xz"), "9pnet_virtio",
      "modules: name from a compressed file, dashes as underscores")

# .modinfo of an object made by the C compiler.
cc = shutil.which("cc") or shutil.which("gcc")
if cc:
    src = os.path.join(tmp, "m.c")
    with open(src, "w") as f:
        f.write('__attribute__((section(".modinfo"), used)) static const '
                'char mi[] = "license=GPL\\0depends=virtio,virtio-ring\\0"'
                '"vermagic=6.1\\0";\nint x;\n')
    r = subprocess.run([cc, "-c", "-o", src + ".o", src],
                       capture_output=True)
    t.is_(r.returncode, 0, "modinfo: %s compiled a test object" % cc)
    with open(src + ".o", "rb") as f:
        obj = f.read()
    t.is_(gr.modinfo_depends(obj), ["virtio", "virtio_ring"],
          "modinfo: depends= read from the ELF section")
    t.is_(gr.elf_section(obj, ".nosuch"), b"", "modinfo: no such section")
else:
    t.skip("no C compiler", 3)
t.is_(gr.modinfo_depends(b"not an ELF file"), [], "modinfo: not ELF")

# Static ELF check: the shell is dynamic, a text file is not ELF.
t.ok(not gr.is_static_elf("/bin/sh"), "is_static_elf: /bin/sh is dynamic")
t.ok(not gr.is_static_elf(path), "is_static_elf: a script is not ELF")

# Acceleration.
t.is_(gr.choose_accel("auto", "hw", False), ("kvm", ""), "accel: hw KVM")
acc, why = gr.choose_accel("auto", "pvm", False)
t.ok(acc == "tcg" and "PVM" in why, "accel: PVM falls back to TCG")
t.is_(gr.choose_accel("auto", "pvm", True), ("kvm", ""),
      "accel: PVM with a kernel of one's own")
acc, why = gr.choose_accel("auto", "none", False)
t.ok(acc == "tcg" and "/dev/kvm" in why, "accel: no /dev/kvm -> TCG")
for kind in ("none", "pvm"):
    try:
        gr.choose_accel("kvm", kind, False)
        t.ok(False, "accel: --accel kvm fails on %s" % kind)
    except gr.Fail as e:
        t.ok(str(e).count("\n") == 0, "accel: --accel kvm fails on %s "
             "with one line" % kind)
t.is_(gr.choose_accel("tcg", "hw", False), ("tcg", ""), "accel: --accel tcg")

# guest.conf and job.sh as the shell reads them.
conf = gr.guest_conf(200000, 570, ["a.b=1", "n.r=1024 65535"])
r = subprocess.run(["/bin/sh", "-c", conf + 'printf "%s|%s|%s" "$NOFILE" '
                    '"$STOP_AFTER" "$SYSCTLS"'], capture_output=True,
                   text=True)
t.is_(r.stdout, "200000|570|a.b=1\nn.r=1024 65535", "guest.conf sourced")
argv = ["bench/compare", "--only", "a,b", "it's \"x\" $HOME"]
job = gr.job_script("/work/a b", argv, "/usr/bin:/bin")
line = job.splitlines()[3]
t.is_(shlex.split(line), argv, "job.sh: the command line quoted")
t.ok("cd '/work/a b'" in job and "echo $? > /run/cqvm/rc" in job,
     "job.sh: changes directory, records the exit code")

# Usage errors exit 2 before anything is fetched or booted.
for bad in ([], ["--"], ["--smp", "0", "true"], ["--modules", "/x", "true"],
            ["--accel", "xen", "true"]):
    r = subprocess.run([path] + bad, capture_output=True, text=True,
                       timeout=30)
    t.is_(r.returncode, 2, "usage error exits 2: %s" % " ".join(bad))
t.done()
