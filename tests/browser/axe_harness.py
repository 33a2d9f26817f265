"""axe-core in the browser tests (issue #13): inject it into a page, run the WCAG 2.0/2.1
A and AA rules, and split what it finds by impact.

axe-core comes from npm at test set-up (``scripts/setup.sh --test`` runs ``npm ci`` in
tools/axe/, version pinned by its package-lock.json), so the tests read one local file and
never reach the network. Missing, it is a failure that names the command, never a skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from browser_harness import PROJECT_ROOT, README_TEST_COMMAND

AXE_JS = PROJECT_ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_INSTALL = "npm ci --prefix tools/axe"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING = ("serious", "critical")


@dataclass
class AxeResult:
    """What axe reported for one page state: the violations, each a rule with its nodes."""

    name: str
    violations: list[dict[str, Any]]
    version: str

    def by_impact(self, *impacts: str) -> list[dict[str, Any]]:
        return [v for v in self.violations if v.get("impact") in impacts]

    def blocking(self) -> list[dict[str, Any]]:
        return self.by_impact(*BLOCKING)

    def count(self) -> int:
        return sum(len(v["nodes"]) for v in self.violations)

    def describe(self, violations: list[dict[str, Any]] | None = None, nodes: int = 4) -> str:
        """One paragraph per rule: id, impact, help, and where (first ``nodes`` targets)."""
        lines = []
        for v in self.violations if violations is None else violations:
            lines.append(f"  {v['id']} ({v.get('impact')}): {v['help']} [{len(v['nodes'])}]")
            for node in v["nodes"][:nodes]:
                target = " ".join(str(t) for t in node.get("target", []))
                summary = (node.get("failureSummary") or "").replace("\n", " ")[:240]
                lines.append(f"    - {target}: {summary}")
        return "\n".join(lines) or "  (none)"


def axe_script() -> str:
    """The path of axe.min.js; fails with the install command when set-up did not run."""
    if not AXE_JS.exists():
        import pytest

        pytest.fail(
            f"axe-core is not installed ({AXE_JS.relative_to(PROJECT_ROOT)} is missing). "
            f"Run `{AXE_INSTALL}` or the README's test command, `{README_TEST_COMMAND}`.",
            pytrace=False,
        )
    return str(AXE_JS)


def run_axe(page: Any, name: str, context: str = "document") -> AxeResult:
    """Inject axe-core (once per document) and run the WCAG A/AA rules on ``context``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=axe_script())
    raw = page.evaluate(
        """async ([ctx, tags]) => {
             const root = ctx === 'document' ? document : document.querySelector(ctx);
             const r = await axe.run(root, {runOnly: {type: 'tag', values: tags},
                                            resultTypes: ['violations']});
             return {version: axe.version,
                     violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                        help: v.help, helpUrl: v.helpUrl,
                        nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 300),
                                                  failureSummary: n.failureSummary}))}))};
           }""",
        [context, list(WCAG_TAGS)],
    )
    return AxeResult(name=name, violations=raw["violations"], version=raw["version"])
