"""core/permissions.py is the one place role rules live: named actions, can/require, no fail-open default."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from caseframe.core import permissions
from caseframe.core.auth.actor import Actor
from caseframe.core.errors import Forbidden, NotFound
from caseframe.core.sharing.policy import OWNER, Access

ROOT = Path(__file__).resolve().parents[2]
ROLE_NAMES = set(permissions.ROLES)
#: files that may spell a role's name: the permission module, and the demo's data (the demo users it creates
#: and the demo loader's own identity). Nothing in them may compare one (checked below).
ALLOWED = {"core/permissions.py", "core/demo.py", "core/sharing/demo.py"}


def actor(*roles: str, agency: int = 1) -> Actor:
    return Actor(id=7, email="a@example.org", name="A", agency_id=agency, roles=frozenset(roles))


def _python_files():
    for base in ("core", "plugins"):
        for path in sorted((ROOT / base).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in rel:
                yield rel, path


def _role_uses(rel: str, source: str) -> list[str]:
    """Where a Python file names a role, compares one or asks ``actor.has``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in ROLE_NAMES and rel not in ALLOWED:
            found.append(f"{rel}:{node.lineno}: {node.value!r}")
        if isinstance(node, ast.Compare) and rel != "core/permissions.py":
            for part in [node.left, *node.comparators]:
                if isinstance(part, ast.Constant) and part.value in ROLE_NAMES:
                    found.append(f"{rel}:{node.lineno}: compares {part.value!r}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "has"
            and "actor" in ast.unparse(node.func.value)
            and rel != "core/permissions.py"
        ):
            found.append(f"{rel}:{node.lineno}: actor.has(...): ask permissions.can(actor, action)")
    return found


def test_no_role_name_outside_the_permission_module():
    found = [
        use for rel, path in _python_files() for use in _role_uses(rel, path.read_text(encoding="utf-8"))
    ]
    assert not found, "role rules belong in core/permissions.py (name an action there):\n" + "\n".join(found)


def test_the_role_check_finds_what_it_is_for():
    line = 'if actor.has("local_admin") or "caseworker" in roles:\n    pass\n'
    assert len(_role_uses("core/x/web.py", line)) == 4  # two names, one comparison, one has()
    assert _role_uses("core/demo.py", line) == [
        "core/demo.py:1: actor.has(...): ask permissions.can(actor, action)",
        "core/demo.py:1: compares 'caseworker'",
    ]
    assert _role_uses("core/permissions.py", line) == []


def test_no_role_name_in_templates():
    pattern = re.compile(r"""["']({})["']""".format("|".join(ROLE_NAMES)))
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in sorted((ROOT / "core/web/templates").rglob("*.html"))
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    found += [
        f"{path.relative_to(ROOT)}: actor.has"
        for path in sorted((ROOT / "core/web/templates").rglob("*.html"))
        if "actor.has(" in path.read_text(encoding="utf-8")
    ]
    assert not found, 'templates ask can("action") instead of naming roles:\n' + "\n".join(found)


def test_workflow_steps_are_worked_out_in_one_place():
    """'Which transitions are available' is cases.service.available_transitions, used by the case page, the
    API and transition_case: nothing else asks the workflow for them."""
    callers = []
    for rel, path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "available"
            ):
                callers.append(rel)
    assert callers == ["core/cases/service.py"]
    for rel in ("core/cases/web.py", "core/web/api.py", "core/cases/service.py"):
        assert "available_transitions(" in (ROOT / rel).read_text(encoding="utf-8"), rel


def test_every_action_names_roles_that_exist_and_a_refusal():
    for act in permissions.ACTIONS.values():
        assert set(act.roles) <= ROLE_NAMES, act.name
        assert act.refusal and act.summary, act.name
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", act.name), act.name


def test_unknown_action_is_an_error_not_a_yes():
    with pytest.raises(permissions.UnknownAction):
        permissions.can(actor("system_admin"), "case.delete_everything")
    with pytest.raises(permissions.UnknownAction):
        from caseframe.core.web.auth import requires

        requires("no.such")


def test_no_actor_may_do_nothing():
    for name in permissions.ACTIONS:
        assert not permissions.can(None, name)


def test_roles():
    assert permissions.can(actor("local_admin"), "audit.read")
    assert not permissions.can(actor("caseworker", "supervisor"), "audit.read")
    assert permissions.can(actor("system_admin"), "audit.read_all")
    assert not permissions.can(actor("local_admin"), "audit.read_all")
    with pytest.raises(Forbidden, match="Only an admin can read the audit trail"):
        permissions.require(actor("caseworker"), "audit.read")
    with pytest.raises(Forbidden, match="in other words"):
        permissions.require(actor("caseworker"), "audit.read", message="in other words")


def test_case_rules_delegate_to_the_sharing_policy():
    share = Access(kind="share", purpose="crime_prevention", max_sensitivity="official")
    worker = actor("caseworker")
    assert permissions.can(worker, "case.edit", OWNER)
    assert not permissions.can(worker, "case.edit", share)
    assert not permissions.can(actor("local_admin"), "case.edit", OWNER)
    with pytest.raises(Forbidden, match="shared with your agency to read"):
        permissions.require(worker, "case.edit", share)
    with pytest.raises(Forbidden, match="Your role does not let you change cases"):
        permissions.require(actor("local_admin"), "case.edit", OWNER)
    # no access: the same answer as no such case, for reading and changing alike
    for name in ("case.read", "case.edit", "case.transition", "case.share"):
        with pytest.raises(NotFound, match="No case with that number exists"):
            permissions.require(worker, name, None)
    assert permissions.can(actor("local_admin"), "case.read", share)


def test_object_rules_refuse_without_their_object():
    worker = actor("caseworker")
    assert not permissions.can(worker, "person.edit")
    assert permissions.can(worker, "person.edit", {"created_by_agency": 1})
    assert not permissions.can(worker, "person.edit", {"created_by_agency": 2})
    assert not permissions.can(
        actor("supervisor"), "person.merge", [{"created_by_agency": 1}, {"created_by_agency": 2}]
    )
    assert permissions.can(
        actor("supervisor"), "person.merge", [{"created_by_agency": 1}, {"created_by_agency": 1}]
    )
    assert not permissions.can(actor("panel_chair"), "panel.chair")
    with pytest.raises(NotFound):
        permissions.require(worker, "task.edit")


def test_agency_scoped_actions_hide_other_agencies():
    local = actor("local_admin", agency=1)
    assert permissions.can(local, "users.manage", 1)
    with pytest.raises(NotFound, match="No user with that number exists"):
        permissions.require(local, "users.manage", 2)
    assert permissions.can(actor("system_admin", agency=1), "users.manage", 2)
    with pytest.raises(Forbidden, match="Only a local admin or a system admin can manage users"):
        permissions.require(actor("caseworker"), "users.manage", 2)
    # a task of another agency is not found whatever the roles; the own agency's by a reader is refused
    with pytest.raises(NotFound, match="No task"):
        permissions.require(actor("caseworker", agency=1), "task.edit", 2)
    with pytest.raises(Forbidden, match="change tasks"):
        permissions.require(actor("local_admin", agency=1), "task.edit", 1)


def test_panels_are_chaired_by_the_chair_agency_only():
    panel = {"chair_agency": 1, "members": {1, 2}}
    assert permissions.can(actor("panel_chair", agency=1), "panel.chair", panel)
    assert not permissions.can(actor("system_admin", agency=3), "panel.chair", panel)
    assert permissions.can(actor("system_admin", agency=3), "panel.read", panel)
    assert permissions.can(actor("caseworker", agency=2), "panel.read", panel)
    with pytest.raises(NotFound, match="No panel"):
        permissions.require(actor("panel_chair", agency=3), "panel.read", panel)
    assert not permissions.can(actor("system_admin", agency=1), "panel.pack", panel)


def test_restrict_narrows_a_list_to_the_own_agency_unless_the_wider_action_allows():
    from caseframe.core.audit.tables import AuditEvent

    base = AuditEvent.select(AuditEvent.id)
    local = str(
        permissions.restrict(
            AuditEvent.select(AuditEvent.id),
            actor("local_admin", agency=4),
            "audit.read",
            AuditEvent.agency_id,
        )
    )
    assert "agency_id" in local and "4" in local
    assert str(permissions.restrict(base, actor("system_admin"), "audit.read", AuditEvent.agency_id)) == str(
        AuditEvent.select(AuditEvent.id)
    )
    with pytest.raises(Forbidden):
        permissions.restrict(base, actor("caseworker"), "audit.read", AuditEvent.agency_id)


def test_assignable_and_kept_roles():
    assert "system_admin" not in permissions.assignable_roles(actor("local_admin"))
    assert permissions.assignable_roles(actor("system_admin")) == list(permissions.ROLES)
    assert permissions.kept_roles(actor("local_admin"), ["caseworker", "system_admin"]) == ["system_admin"]
    assert permissions.kept_roles(actor("system_admin"), ["system_admin"]) == []


def test_role_allows_reads_a_users_roles():
    assert permissions.role_allows(["supervisor"], "case.edit")
    assert not permissions.role_allows(["local_admin"], "case.edit")
    assert not permissions.role_allows([], "case.edit")


def test_case_dict_refuses_a_missing_access():
    """No fail-open default: a case turned into what pages and the API show needs the reader's access;
    none is refused rather than taken for the owner's (which shows every answer)."""
    from caseframe.core.cases import service as cases

    row = {
        "id": 1,
        "reference": "NOI-1",
        "area": "noise",
        "state": "open",
        "risk_level": None,
        "data": {"report": {"secret": "x"}},
        "owning_agency": 1,
        "lead_officer": None,
        "opened_at": __import__("datetime").datetime(2026, 1, 1),
        "closed_at": None,
        "version": 1,
    }

    ctx = type("Ctx", (), {"areas": {}})()
    with pytest.raises(TypeError):
        cases.case_dict(ctx, row)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="needs the reader's access"):
        cases.case_dict(ctx, row, None)  # type: ignore[arg-type]
    assert cases.case_dict(ctx, row, Access.owner())["data"] == {"report": {"secret": "x"}}
    listed = cases.case_dict(ctx, row, Access.reference_only())
    assert listed["data"] == {} and listed["reference"] == "NOI-1"
