"""The App Home's reads: per group only the orders shown and a capped count, whatever the store.

Each group is read per state from one index in id order (``ix_orders_team_state`` for an
admin; ``ix_orders_team_requester_state`` and ``ix_watchers_user_order`` for anyone else), cut
at the number shown, so an old order that needs someone is found under thousands of newer
ones without reading them. Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select, union, union_all
from sqlalchemy.orm import Session

from bot import workflow
from storage import approvals
from storage.models import ApprovalRequest, Order, Watcher

S = workflow.State
#: The Home's groups in the order shown (what needs the person first, what has ended last),
#: each with the states it holds. The words for each are in bot.views.home.
HOME_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("needs_you", (S.PURCHASED, S.FAILED)),
    ("approval", (S.AWAITING_APPROVAL,)),
    ("at_ca", (S.SUBMITTED, S.AWAITING_VERIFICATION)),
    ("issued", (S.ISSUED,)),
    ("ended", (S.EXPIRED, S.REVOKED, S.CANCELLED)),
)
#: A group's count stops here ("1,000+"): counting further would read the whole history.
COUNT_CAP = 1000


@dataclass(frozen=True)
class HomeScope:
    """Whose orders a Home shows: the person's own and watched ones, or all (admins)."""

    teams: tuple[str, ...]
    user_id: str
    #: Every order of the teams (only for admins: the caller decides who is one).
    all_orders: bool = False


@dataclass(frozen=True)
class GroupCount:
    """How many orders a group holds; ``capped``: at least that many (the count stopped)."""

    total: int
    capped: bool = False


def teams_with_orders(session: Session) -> list[str]:
    """Every workspace with orders: one index seek per workspace, not a walk over every order.

    (``SELECT DISTINCT team_id`` would read the whole index on every Home published.)
    """
    found: list[str] = []
    while (team := session.scalar(next_team_statement(found[-1] if found else None))) is not None:
        found.append(team)
    return found


def next_team_statement(after: str | None) -> Select[str]:
    """The first workspace id after ``after`` (None: the first of all), from an index."""
    after_it = Order.team_id > after if after is not None else Order.team_id >= ""
    return select(Order.team_id).where(after_it).order_by(Order.team_id).limit(1)


def group_ids(
    session: Session, scope: HomeScope, states: Sequence[str], *, limit: int
) -> list[int]:
    """The ids of the group's ``limit`` newest orders, newest first."""
    if limit < 1 or not scope.teams:
        return []
    return list(session.scalars(group_ids_statement(scope, states, limit=limit)))


def count_group(
    session: Session, scope: HomeScope, states: Sequence[str], *, cap: int = COUNT_CAP
) -> GroupCount:
    """How many orders the group holds, reading at most ``cap`` index entries per branch."""
    if not scope.teams:
        return GroupCount(0)
    total = int(session.scalar(group_count_statement(scope, states, cap=cap)) or 0)
    return GroupCount(total=total, capped=total >= cap)


def group_ids_statement(scope: HomeScope, states: Sequence[str], *, limit: int) -> Select[int]:
    """The statement choosing a group's newest ids (public so tests can EXPLAIN it)."""
    pieces = []
    for branch in _branches(scope, states):
        column = branch.selected_columns[0]
        pieces.append(branch.order_by(column.desc()).limit(limit).subquery())
    if len(pieces) == 1:
        merged = pieces[0]
    else:
        # Each branch is already cut at `limit`: the union of a few short lists is cheap.
        merged = union(*(select(p.c[0].label("id")) for p in pieces)).subquery()
    ident = merged.c[0]
    return select(ident).order_by(ident.desc()).limit(limit)


def group_count_statement(scope: HomeScope, states: Sequence[str], *, cap: int) -> Select[int]:
    """The statement counting a group up to ``cap`` (public so tests can EXPLAIN it)."""
    branches = [select(b.limit(cap).subquery().c[0]) for b in _branches(scope, states)]
    if len(branches) == 1:
        merged = branches[0]
    elif scope.all_orders:
        # One branch per (team, state): disjoint, so nothing to remove twice.
        merged = union_all(*branches)  # type: ignore[assignment]
    else:
        # An order both owned and watched is counted once.
        merged = union(*branches)  # type: ignore[assignment]
    return select(func.count()).select_from(merged.limit(cap).subquery())


def waiting_approvals(
    session: Session, *, teams: Sequence[str] | None, user_id: str, everyone: bool, limit: int
) -> tuple[list[ApprovalRequest], int]:
    """The oldest ``limit`` undecided requests ``user_id`` may decide (``everyone``: admins),
    within ``teams`` (None: any), and how many there are in all."""
    stmt = approvals.undecided(teams)
    if everyone:
        counted = select(func.count()).select_from(stmt.order_by(None).subquery())
        return list(session.scalars(stmt.limit(limit))), int(session.scalar(counted) or 0)
    # Who may decide is a JSON list: read the open requests (a queue, not the history).
    mine = [r for r in session.scalars(stmt) if approvals.may_decide(r.approvers, user_id)]
    return mine[:limit], len(mine)


def _branches(scope: HomeScope, states: Sequence[str]) -> list[Select[int]]:
    """Selects of order ids, each read from one index in id order; their union is the group."""
    whose = [] if scope.all_orders else [Order.requester_id == scope.user_id]
    branches = [
        select(Order.id).where(Order.team_id == team, *whose, Order.state == state)
        for team in scope.teams
        for state in states
    ]
    if scope.all_orders:
        return branches
    # ix_watchers_user_order gives the watched ids newest first; each order by primary key.
    # (`|| ''`: an index on team and state would tempt the planner to read every order of
    # the team in those states and join them to the few watched ones.)
    watched = (
        select(Watcher.order_id)
        .join(Order, Order.id == Watcher.order_id)
        .where(
            Watcher.user_id == scope.user_id,
            Order.team_id.concat("").in_(list(scope.teams)),
            Order.state.concat("").in_(list(states)),
        )
    )
    return [*branches, watched]
