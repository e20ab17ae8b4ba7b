"""Does the judge give 07_visualization's points for what the code computes on its secret CNN, and only then?

Wrong answers are the reference cells with one known mistake edited in (the self-checks' mistake
table, tests/checks/test_visualization.py); one judge run rules on a group (one per answer cell).
"""

from __future__ import annotations

from tests.judge.harness import edited, groups

A = "07_visualization"
CELLS = {
    "occlusion_map": ("occlusion_positions", "occlusion_values", "occlusion_fill", "occlusion_eval",
                      "occlusion_hidden"),
    "top_activating_patches": ("top_values", "top_indices", "top_patches", "top_hook", "top_hidden"),
}  # fmt: skip
OCC, TOP = CELLS["occlusion_map"], CELLS["top_activating_patches"]


def _o(*edits):
    return "occlusion_map", edited(A, "occlusion_map", *edits)


def _t(*edits):
    return "top_activating_patches", edited(A, "top_activating_patches", *edits)


N = "n_rows = (height - patch_size) // stride + 1\n    n_cols = (width - patch_size) // stride + 1"
RET = "return probs[:, target].reshape(n_rows, n_cols)"
STACK = "torch.stack([img, rows, cols], dim=1)"
LOOP_OCCLUSION = """def occlusion_map(model, image, target, patch_size=8, stride=4, fill=0.0):
    model.eval()
    _, height, width = image.shape
    rows = []
    for top in range(0, height - patch_size + 1, stride):
        row = []
        for left in range(0, width - patch_size + 1, stride):
            x = image.clone()
            x[:, top : top + patch_size, left : left + patch_size] = fill
            with torch.no_grad():
                row.append(torch.softmax(model(x[None]), dim=1)[0, target])
        rows.append(torch.stack(row))
    return torch.stack(rows)
"""

WRONG = {
    "occlusion without the last position": (_o((N, N.replace(" + 1", ""))), dict.fromkeys(OCC, "")),
    "occlusion ignoring the stride": (_o((N, N.replace("// stride", "// 1")), ("r * stride, c * stride", "r, c")),
                                      {**dict.fromkeys(OCC, ""), "occlusion_positions": "the stride is ignored"}),
    "occlusion map transposed": (_o((RET, RET.replace("n_rows, n_cols", "n_cols, n_rows"))),
                                 {"occlusion_positions": "rows and columns are swapped", "occlusion_values": None,
                                  "occlusion_fill": None, "occlusion_hidden": None}),
    "occlusion of logits": (_o(("torch.softmax(model(batch), dim=1)", "model(batch)")),
                            {**dict.fromkeys(OCC, ""), "occlusion_values": "holds logits",
                             "occlusion_hidden": "holds logits"}),
    "occlusion of class 0": (_o(("probs[:, target]", "probs[:, 0]")),
                             {"occlusion_positions": None, "occlusion_values": "class 0", "occlusion_fill": "",
                              "occlusion_hidden": "class 0"}),
    "occlusion softmax over the batch": (_o(("dim=1)", "dim=0)")),
                                         {**dict.fromkeys(OCC, ""), "occlusion_values": "over the batch"}),
    "occlusion of 1 - probability": (_o(("return probs", "return 1 - probs")),
                                     {**dict.fromkeys(OCC, ""), "occlusion_values": "1 - probability"}),
    "occlusion filled with 0": (_o(("= fill", "= 0.0")), {"occlusion_fill": "filled with 0"}),
    "occlusion in train mode": (_o(("    model.eval()\n", "")),
                                {**dict.fromkeys(OCC, ""), "occlusion_eval": "call model.eval()"}),
    "occlusion with gradients": (_o(("torch.no_grad()", "torch.enable_grad()")),
                                 {"occlusion_eval": "torch.no_grad()"}),
    "occlusion changing the image": (_o(("    model.eval()\n", "    image.zero_()\n    model.eval()\n")),
                                     dict.fromkeys(OCC, "changed in place")),
    # the package's answer (while it ships one): loses the points, whatever its import error becomes later
    "occlusion from the package": (("occlusion_map", "occlusion_map = visualization.reference_occlusion\n"),
                                   dict.fromkeys(OCC, "")),
    "top k smallest": (_t((".topk(k)", ".topk(k, largest=False)")),
                       {**dict.fromkeys(TOP, ""), "top_values": "SMALLEST", "top_hook": None}),
    "top unsorted": (_t(("  # sorted, largest first", "\n    values, flat = values.flip(0), flat.flip(0)")),
                     {"top_values": "not sorted", "top_indices": "another order", "top_patches": "",
                      "top_hidden": ""}),
    "top of the next channel": (_t(('[:, unit]', '[:, (unit + 1) % store["out"].shape[1]]')),
                                {**dict.fromkeys(TOP, ""), "top_values": "is used instead of unit", "top_hook": None}),
    "top rows and columns swapped": (_t((STACK, STACK.replace("rows, cols", "cols, rows"))),
                                     {"top_indices": "", "top_patches": "", "top_hidden": ""}),
    "top flat indices": (_t(("return values, indices,", "return values, flat,")),
                         {"top_indices": "indices are flat", "top_hidden": "indices are flat"}),
    "top patches from the corner": (_t(("r * sr + sr // 2 - patch_size // 2", "r * sr"),
                                       ("c * sc + sc // 2 - patch_size // 2", "c * sc")),
                                    {"top_patches": "should be images[", "top_hidden": "should be images["}),
    "top grid read as square": (_t(("(flat % (h * w)) // w, flat % w", "(flat % (h * w)) // h, flat % h")),
                                {"top_indices": "", "top_patches": "", "top_hidden": ""}),
    "top in train mode": (_t(("    model.eval()\n", "")),
                          {**dict.fromkeys(TOP, ""), "top_values": "train mode", "top_hook": "call model.eval()"}),
    "top keeping the hook": (_t(("        handle.remove()\n", "        pass\n")), {"top_hook": "still registered"}),
    "top with gradients": (_t(("torch.no_grad()", "torch.enable_grad()")), {"top_hook": "torch.no_grad()"}),
}  # fmt: skip
GROUPS = groups(WRONG)

RIGHT = {  # valid answers written differently: full marks
    "occlusion with one model call per position": ("occlusion_map", LOOP_OCCLUSION),
    "top with unravel_index": _t(("img, rows, cols = flat // (h * w), (flat % (h * w)) // w, flat % w",
                                  "img, rows, cols = torch.unravel_index(flat, (len(act), h, w))")),
}  # fmt: skip

BROKEN = {  # raising or mistyped code: failed verdicts, not a crash (tests/judge/test_notebooks.py)
    "occlusion_map": "def occlusion_map(model, image, target, patch_size=8, stride=4, fill=0.0):\n    return image\n",
    "top_activating_patches": "def top_activating_patches(model, layer, images, unit, k=9, patch_size=8):\n"
    "    raise RuntimeError('boom')\n",
}
BROKEN_EXPECTED = {  # failing test cell -> text its message must hold
    **{test: "never called the model" if test == "occlusion_eval" else "occlusion map" for test in OCC},
    **dict.fromkeys(TOP, "raised RuntimeError: boom"),
}
