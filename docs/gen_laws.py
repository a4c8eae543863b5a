"""Write reference/laws.md from the law registry at build time (mkdocs-gen-files): every registered law with
its formula, inputs and units, parameters (bounds, units, meaning), the paper it comes from and the
conventions it follows (the "Convention:" paragraphs of its class docstring: whose code or data they match)."""

import inspect
import re

import mkdocs_gen_files

from scalinglaws.laws import available_laws, get_law


def bounds(lo: float, hi: float) -> str:
    def show(v: float) -> str:
        return "∞" if v == float("inf") else "−∞" if v == float("-inf") else f"{v:g}"

    return f"[{show(lo)}, {show(hi)}]"


def conventions(law) -> list[str]:
    """The "Convention:" paragraphs of the law's class docstring, each on one line."""
    doc = inspect.getdoc(type(law)) or ""
    doc = re.sub(r":(?:func|data|class|meth):`~?([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1]}`", doc)
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n")]
    return [p[len("Convention:"):].strip() for p in paragraphs if p.startswith("Convention:")]


lines = ["# Law reference", "",
         "Every law registered in `scalinglaws`, generated from the registry when these pages are built "
         "(`scalinglaws laws` prints the same). Units: N = parameters, D = tokens, C = FLOPs, loss in nats/token.",
         ""]
for name in available_laws():
    law = get_law(name)
    lines += [f"## `{law.name}`", "", f"`{law.formula}`", ""]
    if law.latex:
        lines += [f"$$ {law.latex} $$", ""]
    lines += ["| input | meaning |", "|---|---|"]
    lines += [f"| `{k}` | {law.input_docs.get(k, '')} |" for k in law.inputs]
    lines += ["", "| parameter | meaning | unit | bounds | status |", "|---|---|---|---|---|"]
    for p in law.params:
        status = (f"fixed at {p.fixed:g}" if p.fixed is not None else f"tied: {p.tie}" if p.tie else "free")
        lines.append(f"| `{p.name}` | {p.doc} | {p.unit} | {bounds(*p.bounds)} | {status} |")
    lines += ["", f"Source: {law.reference or 'defined by scalinglaws'}.", ""]
    lines += [f"**Convention.** {c}\n" for c in conventions(law)]

with mkdocs_gen_files.open("reference/laws.md", "w") as handle:
    handle.write("\n".join(lines))
