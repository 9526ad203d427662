"""The points ledger against a Python model (Hypothesis stateful), and the expiry policy.

The machine calls the services directly in the test's app context, as a view would
(commit after a success, rollback after a refusal), and after every step compares the
database with a model: balances, every ledger line, stock, session places, vouchers, caps,
idempotency of redemptions and awards, and the expiry policy's documented rule:
    expiring = min(balance, credits dated ≤ cutoff − all debits so far),
reversals counting with the entry they undo.
"""

import itertools
import os
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from baojing.dates import local_today, quarter_of, quarter_start
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.points import (
    DEDUCT,
    EARN,
    EXPIRE,
    GOODS,
    HEALTH_CHECK,
    REDEEM,
    REVERSE,
    CatalogItem,
    ItemSession,
    PointEntry,
    PointRule,
    Redemption,
)
from baojing.services import DuplicateRequest, RuleViolation
from baojing.services.points import awards, expiry, ledger, redemption, verify
from baojing.services.points.redemption import RedeemRequest
from tests import factories
from tests.points_factories import build_store, fund

_names = itertools.count(1)
# More examples for a longer hunt: POINTS_MODEL_EXAMPLES=500 pytest tests/test_points_model.py
EXAMPLES = int(os.environ.get("POINTS_MODEL_EXAMPLES", "40"))
STEPS = int(os.environ.get("POINTS_MODEL_STEPS", "25"))


# Days of earlier years to earn on: the first and last day of a year are the edges.
MONTH_DAYS = st.sampled_from([(1, 1), (6, 30), (12, 31)])


def rid() -> str:
    return uuid.uuid4().hex


def ledger_sum(member_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member_id
        )
    )


def entries_of(member_id: int) -> list[PointEntry]:
    return db.session.scalars(
        select(PointEntry).where(PointEntry.member_id == member_id).order_by(PointEntry.id)
    ).all()


# --- the model ----------------------------------------------------------------------


@dataclass
class Line:
    """The model's copy of one ledger entry (id is the database's, for reverses_id)."""

    id: int
    member: int
    kind: str
    points: int
    quarter: str
    occurred_on: date
    rule_id: int | None = None
    reverses: int | None = None

    def key(self):
        return (self.id, self.kind, self.points, self.quarter, self.occurred_on,
                self.rule_id, self.reverses)  # fmt: skip


@dataclass(frozen=True)
class RuleInfo:
    """A rule's numbers as plain values (the ORM object expires at every commit)."""

    id: int
    points: int
    cap: int | None

    @classmethod
    def of(cls, r: PointRule) -> "RuleInfo":
        return cls(r.id, r.points, r.quarterly_cap)

    def get(self) -> PointRule:
        return db.session.get(PointRule, self.id)


@dataclass
class Redeemed:
    id: int
    request_id: str
    wanted: RedeemRequest
    points: int
    entry_id: int
    service: bool
    voucher_used: bool  # goods: handed over (used) at the counter at once
    reversed: bool = False


class LedgerMachine(RuleBasedStateMachine):
    """One example = two fresh members, fresh goods and a fresh service session."""

    org: factories.Org  # set by the test before running
    point_rules: dict[str, RuleInfo]

    def __init__(self):
        super().__init__()
        org = self.org
        self.secretary = org.users["secretary"]
        self.clerk = org.users["clerk"]
        self.admin = org.users["admin"]
        self.today = local_today()
        self.prev_quarter_day = quarter_start(self.today) - timedelta(days=1)
        self.quarters = (quarter_of(self.today), quarter_of(self.prev_quarter_day))
        n = next(_names)
        self.members = [
            factories.member(org.villages["tati"], name=f"模型党员{n}甲").id,
            factories.member(org.villages["tati"], name=f"模型党员{n}乙").id,
        ]
        rice = CatalogItem(kind=GOODS, name=f"大米 {n}", price=30, stock=3)
        oil = CatalogItem(kind=GOODS, name=f"菜油 {n}", price=50, stock=2)
        checkup = CatalogItem(kind=HEALTH_CHECK, name=f"查体 {n}", price=40, stock=None)
        db.session.add_all([rice, oil, checkup])
        db.session.flush()
        place = ItemSession(item_id=checkup.id, on_date=self.today + timedelta(days=7),
                            place="县人民医院", capacity=2)  # fmt: skip
        db.session.add(place)
        db.session.flush()
        expiry.set_policy_years(0, self.admin)
        db.session.commit()
        self.goods = {rice.id: 3, oil.id: 2}  # initial stock
        self.prices = {rice.id: 30, oil.id: 50, checkup.id: 40}
        self.checkup_id, self.session_id, self.capacity = checkup.id, place.id, 2
        # The model.
        self.balance = dict.fromkeys(self.members, 0)
        self.lines: dict[int, list[Line]] = {m: [] for m in self.members}
        self.by_id: dict[int, Line] = {}
        self.reversed_ids: set[int] = set()
        self.redeemed: list[Redeemed] = []
        self.award_requests: list[tuple[str, int, int, int]] = []  # (key, member, rule, entry)
        self.policy = 0
        self.expired_keys: set[tuple[int, int]] = set()

    # --- model helpers

    def _add(self, entry: PointEntry) -> Line:
        line = Line(entry.id, entry.member_id, entry.kind, entry.points, entry.quarter,
                    entry.occurred_on, entry.rule_id, entry.reverses_id)  # fmt: skip
        self.lines[line.member].append(line)
        self.by_id[line.id] = line
        self.balance[line.member] += line.points
        if line.reverses is not None:
            self.reversed_ids.add(line.reverses)
        return line

    def _used(self, member: int, rule_id: int, quarter: str) -> int:
        return abs(sum(
            ln.points for ln in self.lines[member]
            if ln.rule_id == rule_id and ln.quarter == quarter
            and ln.kind in (EARN, DEDUCT, REVERSE)
        ))  # fmt: skip

    def _room(self, rule: RuleInfo, member: int, quarter: str) -> int | None:
        if rule.cap is None:
            return None
        return max(0, rule.cap - self._used(member, rule.id, quarter))

    def _expiring(self, member: int, cutoff: date) -> int:
        old = debits = 0
        for ln in self.lines[member]:
            orig = self.by_id[ln.reverses] if ln.reverses is not None else ln
            if orig.points > 0 and orig.occurred_on <= cutoff:
                old += ln.points
            if orig.points < 0:
                debits -= ln.points
        return max(0, min(self.balance[member], old - debits))

    def _live_quantity(self, item_id: int) -> int:
        return sum(r.wanted.quantity for r in self.redeemed
                   if r.wanted.item_id == item_id and not r.reversed)  # fmt: skip

    def _member(self, member_id: int) -> Member:
        return db.session.get(Member, member_id)

    # --- rules

    @rule(
        who=st.integers(0, 1),
        which=st.sampled_from(["capped", "uncapped"]),
        previous_quarter=st.booleans(),
        times=st.integers(1, 4),
    )
    def award(self, who, which, previous_quarter, times):
        """The same rule a few times in a row (so that caps are reached)."""
        member, rule_ = self.members[who], self.point_rules[which]
        day = self.prev_quarter_day if previous_quarter else self.today
        for _ in range(times):
            room = self._room(rule_, member, quarter_of(day))
            key = rid()
            if room is not None and room < rule_.points:
                event("award: refused at the cap")
                with pytest.raises(RuleViolation, match="上限"):
                    awards.award(self.secretary, self._member(member), rule_.get(),
                                 occurred_on=day, reason="模型", request_id=key)  # fmt: skip
                db.session.rollback()
                continue
            entry = awards.award(self.secretary, self._member(member), rule_.get(),
                                 occurred_on=day, reason="模型", request_id=key)  # fmt: skip
            assert (entry.kind, entry.points, entry.occurred_on) == (EARN, rule_.points, day)
            db.session.commit()
            self._add(entry)
            self.award_requests.append((key, member, rule_.id, entry.id))

    @rule(who=st.integers(0, 1), previous_quarter=st.booleans(), times=st.integers(1, 4))
    def deduct(self, who, previous_quarter, times):
        """A deduction takes at most the room under its cap and at most the balance."""
        member, rule_ = self.members[who], self.point_rules["deduction"]
        day = self.prev_quarter_day if previous_quarter else self.today
        for _ in range(times):
            room = self._room(rule_, member, quarter_of(day))
            amount = min(rule_.points, room, self.balance[member])
            key = rid()
            event(f"deduct: {amount} of {rule_.points}")
            if amount == 0:
                with pytest.raises(RuleViolation, match="上限" if room == 0 else "余额为 0"):
                    awards.award(self.secretary, self._member(member), rule_.get(),
                                 occurred_on=day, reason="模型", request_id=key)  # fmt: skip
                db.session.rollback()
                continue
            entry = awards.award(self.secretary, self._member(member), rule_.get(),
                                 occurred_on=day, reason="模型", request_id=key)  # fmt: skip
            assert (entry.kind, entry.points) == (DEDUCT, -amount)
            db.session.commit()
            self._add(entry)
            self.award_requests.append((key, member, rule_.id, entry.id))

    @precondition(lambda self: self.award_requests)
    @rule(data=st.data(), same=st.booleans())
    def replay_award(self, data, same):
        key, member, rule_id, entry_id = data.draw(st.sampled_from(self.award_requests))
        rule_ = db.session.get(PointRule, rule_id)
        if same:
            # A replay is the same form again: same member, rule, date and reason.
            first = db.session.get(PointEntry, entry_id)
            again = awards.award(self.secretary, self._member(member), rule_,
                                 occurred_on=first.occurred_on, reason=first.reason,
                                 request_id=key)  # fmt: skip
            assert again.id == entry_id
            db.session.commit()
            return
        other = self.members[1 - self.members.index(member)]
        with pytest.raises(DuplicateRequest):
            awards.award(self.secretary, self._member(other), rule_,
                         occurred_on=self.today, reason="重复提交", request_id=key)  # fmt: skip
        db.session.rollback()

    @initialize(
        policy=st.integers(0, 3),
        funds=st.lists(
            st.tuples(st.integers(0, 1), st.integers(0, 4), MONTH_DAYS, st.integers(1, 150)),
            max_size=3,
        ),
    )
    def start(self, policy, funds):
        """Most examples start with an expiry policy and some points, old and new."""
        self.set_policy(policy)
        for who, years_ago, month_day, points in funds:
            self.earn_long_ago(who, years_ago, month_day, points)

    @rule(
        who=st.integers(0, 1),
        years_ago=st.integers(0, 5),
        month_day=MONTH_DAYS,
        points=st.integers(1, 150),
    )
    def earn_long_ago(self, who, years_ago, month_day, points):
        """Points from earlier years (as awards long ago would have left them), or today's."""
        member = self.members[who]
        day = date(self.today.year - years_ago, *month_day) if years_ago else self.today
        entry = ledger.post(member, EARN, points, quarter=quarter_of(day), occurred_on=day,
                            actor_id=None, reason="往年积分")  # fmt: skip
        db.session.commit()
        self._add(entry)

    @rule(who=st.integers(0, 1), item=st.sampled_from([0, 1, 2]), quantity=st.integers(1, 3))
    def redeem(self, who, item, quantity):
        member = self.members[who]
        if item == 2:
            wanted = RedeemRequest(member, self.checkup_id, 1, self.session_id)
            cost = self.prices[self.checkup_id]
            available = self.capacity - self._live_quantity(self.checkup_id)
            quantity = 1
        else:
            item_id = list(self.goods)[item]
            wanted = RedeemRequest(member, item_id, quantity)
            cost = self.prices[item_id] * quantity
            available = self.goods[item_id] - self._live_quantity(item_id)
        key = rid()
        if self.balance[member] < cost or available < quantity:
            # Stock is taken before the debit, so when both fall short either may be told.
            short_points = self.balance[member] < cost
            short_stock = available < quantity
            message = "|".join(
                (["积分不足"] if short_points else [])
                + (["库存不足|名额已满"] if short_stock else [])
            )
            event(f"redeem: refused ({message})")
            with pytest.raises(RuleViolation, match=message):
                redemption.redeem(self.clerk, self._member(member), wanted, key)
            db.session.rollback()
            return
        done = redemption.redeem(self.clerk, self._member(member), wanted, key)
        assert (done.member_id, done.quantity, done.points) == (member, quantity, cost)
        entry = redemption.redeem_entry(done)
        db.session.commit()
        assert (entry.kind, entry.points) == (REDEEM, -cost)
        self._add(entry)
        voucher = redemption.voucher_of(done)
        service = item == 2
        assert voucher is not None and (voucher.used_at is not None) == (not service)
        self.redeemed.append(
            Redeemed(done.id, key, wanted, cost, entry.id, service, voucher_used=not service)
        )

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data())
    def replay_redemption(self, data):
        """The same form again (a double click, a retry): the first result, nothing new."""
        earlier = data.draw(st.sampled_from(self.redeemed))
        count = db.session.scalar(select(func.count()).select_from(Redemption))
        again = redemption.redeem(
            self.clerk, self._member(earlier.wanted.member_id), earlier.wanted, earlier.request_id
        )
        assert again.id == earlier.id
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Redemption)) == count

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data(), change=st.sampled_from(["quantity", "item", "member"]))
    def replay_with_other_content(self, data, change):
        earlier = data.draw(st.sampled_from(self.redeemed))
        w = earlier.wanted
        if change == "quantity":
            wanted = RedeemRequest(w.member_id, w.item_id, w.quantity + 1, w.session_id)
        elif change == "item":
            other = next(i for i in self.goods if i != w.item_id)
            wanted = RedeemRequest(w.member_id, other, 1)
        else:
            other_member = self.members[1 - self.members.index(w.member_id)]
            wanted = RedeemRequest(other_member, w.item_id, w.quantity, w.session_id)
        with pytest.raises(DuplicateRequest):
            redemption.redeem(
                self.clerk, self._member(wanted.member_id), wanted, earlier.request_id
            )
        db.session.rollback()

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data())
    def reverse_redemption(self, data):
        earlier = data.draw(st.sampled_from(self.redeemed))
        found = db.session.get(Redemption, earlier.id)
        if earlier.reversed or (earlier.service and earlier.voucher_used):
            refused = "已经冲正" if earlier.reversed else "凭证已经使用"
            event(f"reverse_redemption: refused ({refused})")
            with pytest.raises(RuleViolation, match=refused):
                redemption.reverse_redemption(self.clerk, found, "再冲一次")
            db.session.rollback()
            return
        reversal = redemption.reverse_redemption(self.clerk, found, "拿错了")
        db.session.commit()
        assert (reversal.kind, reversal.points) == (REVERSE, earlier.points)
        assert reversal.reverses_id == earlier.entry_id
        self._add(reversal)
        earlier.reversed = True

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data())
    def use_voucher(self, data):
        """The health check is delivered: its voucher is used once; goods vouchers never here."""
        earlier = data.draw(st.sampled_from(self.redeemed))
        code = redemption.voucher_of(db.session.get(Redemption, earlier.id)).code
        if not earlier.service:
            refused = "物品兑换"
        elif earlier.reversed:
            refused = "已冲正"
        elif earlier.voucher_used:
            refused = "已经使用"
        else:
            refused = None
        event(f"use_voucher: {refused or 'used'}")
        if refused:
            with pytest.raises(RuleViolation, match=refused):
                redemption.use_voucher(self.admin, code.lower())
            db.session.rollback()
            return
        voucher = redemption.use_voucher(self.admin, code.lower())
        db.session.commit()
        assert voucher.used_at is not None and voucher.used_by_id == self.admin.id
        earlier.voucher_used = True

    @precondition(
        lambda self: any(ln.kind in (EARN, DEDUCT) for m in self.members for ln in self.lines[m])
    )
    @rule(data=st.data())
    def reverse_award(self, data):
        """Undo an award or a deduction (what the member page's 冲正 button allows)."""
        candidates = [ln for m in self.members for ln in self.lines[m] if ln.kind in (EARN, DEDUCT)]
        line = data.draw(st.sampled_from(candidates))
        points = -line.points
        if line.id in self.reversed_ids:
            points = 0
        elif points < 0:
            points = -min(-points, self.balance[line.member])
        entry = db.session.get(PointEntry, line.id)
        reversal = awards.reverse_entry(entry, self.secretary, "登记错了")
        db.session.commit()
        partial = points != -line.points
        event(f"reverse_award: {'nothing' if points == 0 else 'partial' if partial else 'whole'}")
        if points == 0:
            assert reversal is None
            return
        assert reversal is not None
        assert (reversal.kind, reversal.points, reversal.reverses_id) == (REVERSE, points, line.id)
        assert (reversal.quarter, reversal.rule_id) == (line.quarter, line.rule_id)
        self._add(reversal)

    @rule(years=st.integers(0, 3))
    def set_policy(self, years):
        expiry.set_policy_years(years, self.admin)
        db.session.commit()
        self.policy = years
        assert expiry.policy_years() == years

    @rule(offset=st.integers(-3, 1))
    def expire(self, offset):
        year = self.today.year + offset
        expected = {}
        if self.policy:
            cutoff = expiry.cutoff_for(year, self.policy)
            for m in self.members:
                if (year, m) not in self.expired_keys and (amount := self._expiring(m, cutoff)):
                    expected[m] = amount
        expiry.expire_year(year, self.admin)
        db.session.commit()
        for m in self.members:
            key = f"expire:{year}:{m}"
            if m in expected:
                entry = db.session.scalar(select(PointEntry).where(PointEntry.request_id == key))
                assert entry is not None, (m, expected[m])
                assert (entry.kind, entry.points) == (EXPIRE, -expected[m])
                assert entry.occurred_on == date(year, 12, 31)
                self._add(entry)
                self.expired_keys.add((year, m))
        event(f"expire: {len(expected)} member(s) expired")

    # --- invariants

    @invariant()
    def balances_follow_the_ledger_and_the_model(self):
        for m in self.members:
            stored = ledger.balance_of(m)
            assert stored >= 0
            assert stored == ledger_sum(m) == self.balance[m]

    @invariant()
    def every_line_is_the_model_line(self):
        for m in self.members:
            got = [
                (e.id, e.kind, e.points, e.quarter, e.occurred_on, e.rule_id, e.reverses_id)
                for e in entries_of(m)
            ]
            assert got == [ln.key() for ln in self.lines[m]]

    @invariant()
    def stock_is_initial_minus_live_redemptions(self):
        for item_id, initial in self.goods.items():
            stock = db.session.scalar(select(CatalogItem.stock).where(CatalogItem.id == item_id))
            assert stock == initial - self._live_quantity(item_id)
        taken = db.session.scalar(
            select(ItemSession.taken).where(ItemSession.id == self.session_id)
        )
        assert taken == self._live_quantity(self.checkup_id)

    @invariant()
    def caps_hold(self):
        """On the model's lines, which every_line_is_the_model_line keeps equal to the ledger."""
        for m in self.members:
            for rule_ in self.point_rules.values():
                for quarter in self.quarters:
                    assert rule_.cap is None or self._used(m, rule_.id, quarter) <= rule_.cap

    @invariant()
    def ledger_verifies(self):
        assert verify.problems() == []

    def teardown(self):
        db.session.rollback()


def test_ledger_against_a_model(app, org):
    store = build_store()
    uncapped = PointRule(name="志愿服务", points=7, quarterly_cap=None,
                         awarder_roles="village_secretary")  # fmt: skip
    db.session.add(uncapped)
    db.session.commit()
    LedgerMachine.org = org
    LedgerMachine.point_rules = {
        "capped": RuleInfo.of(store.rule),
        "uncapped": RuleInfo.of(uncapped),
        "deduction": RuleInfo.of(store.deduction),
    }
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


# --- the expiry policy, by hand ---------------------------------------------------------


@pytest.fixture
def store(org):
    s = build_store()
    db.session.commit()
    return s


def earn_on(member_id: int, day: date, points: int) -> PointEntry:
    return ledger.post(member_id, EARN, points, quarter=quarter_of(day), occurred_on=day,
                       actor_id=None, reason="往年积分")  # fmt: skip


def spend(org, member: Member, item: CatalogItem, quantity: int = 1):
    wanted = RedeemRequest(member.id, item.id, quantity)
    return redemption.redeem(org.users["clerk"], member, wanted, rid())


def expire_entries(member_id: int) -> list[PointEntry]:
    return [e for e in entries_of(member_id) if e.kind == EXPIRE]


def test_two_year_policy_expires_unspent_points_of_year_minus_two_oldest_first(app, org, store):
    m = org.members["tati"]
    year = local_today().year
    earn_on(m.id, date(year - 2, 3, 1), 60)
    earn_on(m.id, date(year - 2, 12, 31), 40)  # the last day that still counts as Y−2
    earn_on(m.id, date(year - 1, 1, 1), 80)  # a year younger: expires a year later
    db.session.commit()
    spend(org, m, store.rice)  # 50 spent, from the oldest points
    expiry.set_policy_years(2, org.users["admin"])
    db.session.commit()
    # 100 earned in Y−2, 50 of them spent: 50 go at the end of this year.
    assert expiry.upcoming_for(m.id) == expiry.Upcoming(50, date(year, 12, 31))
    assert expiry.expire_year(year - 1) == (0, 0)  # cutoff Y−3: nothing that old
    assert expiry.expire_year(year, org.users["admin"]) == (1, 50)
    db.session.commit()
    assert ledger.balance_of(m.id) == 80
    [expired] = expire_entries(m.id)
    assert (expired.points, expired.occurred_on) == (-50, date(year, 12, 31))
    assert expiry.upcoming_for(m.id) is None
    # Run again: nothing new.
    count = len(entries_of(m.id))
    assert expiry.expire_year(year) == (0, 0)
    db.session.commit()
    assert len(entries_of(m.id)) == count and ledger.balance_of(m.id) == 80
    # The Y−1 points go a year later, unless spent first.
    assert expiry.expire_year(year + 1) == (1, 80)
    db.session.commit()
    assert ledger.balance_of(m.id) == 0
    assert verify.problems() == []


def test_spending_and_reversals_count_oldest_first(app, org, store):
    m = org.members["tati"]
    admin = org.users["admin"]
    year = local_today().year
    earn_on(m.id, date(year - 3, 5, 1), 40)
    earn_on(m.id, date(year - 2, 5, 1), 60)
    earn_on(m.id, date(year - 1, 5, 1), 80)
    db.session.commit()
    expiry.set_policy_years(1, admin)
    spent = spend(org, m, store.rice)  # 50: all 40 of Y−3 and 10 of Y−2
    db.session.commit()
    # End of Y−1 (cutoff Y−2): 100 old − 50 spent.
    assert expiry.expire_year(year - 1) == (1, 50)
    db.session.commit()
    assert ledger.balance_of(m.id) == 80
    # The mistaken redemption is reversed: its 50 points are the old ones back, and
    # they go at the next year end (cutoff Y−1), with the 80 of Y−1.
    redemption.reverse_redemption(org.users["clerk"], spent, "拿错了")
    db.session.commit()
    assert expiry.upcoming_for(m.id) == expiry.Upcoming(130, date(year, 12, 31))
    assert expiry.expire_year(year - 1) == (0, 0)  # that year end is done (its key)
    assert expiry.expire_year(year) == (1, 130)
    db.session.commit()
    assert ledger.balance_of(m.id) == 0
    assert expiry.expire_year(year) == (0, 0)
    assert [e.points for e in expire_entries(m.id)] == [-50, -130]
    assert verify.problems() == []


def test_policy_zero_expires_nothing(app, org, store):
    m = org.members["tati"]
    year = local_today().year
    earn_on(m.id, date(year - 8, 1, 1), 100)
    fund(m.id, 20, store.rule)
    db.session.commit()
    assert expiry.policy_years() == 0  # the default: the county has not turned it on
    assert expiry.expire_year(year) == (0, 0)
    assert expiry.upcoming_for(m.id) is None
    expiry.set_policy_years(3, org.users["admin"])
    expiry.set_policy_years(0, org.users["admin"])
    db.session.commit()
    for y in range(year - 8, year + 2):
        assert expiry.expire_year(y) == (0, 0)
    db.session.commit()
    assert expire_entries(m.id) == [] and ledger.balance_of(m.id) == 120
    with pytest.raises(RuleViolation):
        expiry.set_policy_years(11, org.users["admin"])
    db.session.rollback()
