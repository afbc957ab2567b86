"""Small drgn helpers the real tier's scripts share."""


def vmcoreinfo(prog):
    """The dump's VMCOREINFO (the kernel's vmcoreinfo_data) as a dict of KEY -> text value."""
    out = {}
    for line in prog["vmcoreinfo_data"].string_().decode(errors="replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out
