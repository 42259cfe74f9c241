"""The deterministic city simulator: appeals arrive, become orders, and live their lives.

Consumes a `SimulationSpec` (days, seed, scenario, first day, appeals per working day).
Produces a `Simulation`: the input events of hotline.events.v1 sorted by (occurred_at,
event_id), the office registry of hotline.offices.v1, and the ground truth the
processor's stages can be scored against (see `hotline.sim.truth`).

Everything random comes from one `random.Random(seed)` drawn in a fixed order, and no
clock is read, so the same spec always gives the same bytes. Appeals are processed in
order of arrival (a heap); an order's whole lifecycle is written when its appeal
arrives, and the calls it provokes (resubmissions, chasers, neighbours, call-backs after
an unsatisfying answer) are pushed onto the heap for their own time.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hotline.contract import codec
from hotline.sim import texts, truth
from hotline.sim.calendar import HOURLY_SHARES, SECONDS_PER_DAY, SECONDS_PER_HOUR, SimCalendar
from hotline.sim.city import City, Community, Compound, build_layout, route, with_capacities
from hotline.sim.lifecycle import DOWNWARD_TRANSFER_RATIO, EventRow, Lifecycles, OrderOutcome, OrderPlan, appeal_event_id
from hotline.sim.people import PhoneBook, id_card_number
from hotline.sim.scenarios import SCENARIOS, Scenario

DEFAULT_START = date(2026, 3, 2)
DEFAULT_APPEALS_PER_DAY = 800
SOURCE = "simulator"

CHANNELS = ("phone", "wechat", "app", "web")
CHANNEL_WEIGHTS = (55, 20, 15, 10)
URGENCIES = ("normal", "urgent", "emergency")
URGENCY_WEIGHTS = (92, 7, 1)
CONSULTATION_RATIO = 0.10  # of fresh appeals: questions the operator answers on the call
OUT_OF_SCOPE_RATIO = 0.05  # of fresh appeals: litigation, emergencies, elsewhere, abuse, nothing
OUT_OF_SCOPE_DISPATCHED_RATIO = 0.25  # litigation / elsewhere appeals that still become orders
RETURNING_CALLER_RATIO = 0.08  # a fresh issue from someone who called before about something else
CONTACT_IN_TEXT_RATIO = 0.06
ID_NUMBER_IN_TEXT_RATIO = 0.025
EXACT_RESUBMISSION_RATIO = 0.03
EXACT_RESUBMISSION_DELAY_SECONDS = (180, 6 * SECONDS_PER_HOUR)
OTHER_CHANNEL_ON_RESUBMISSION_RATIO = 0.5
SLOW_ORDER_SECONDS = 2 * SECONDS_PER_DAY
CHASE_WHEN_SLOW_RATIO = 0.3
CALL_BACK_WHEN_UNHAPPY_RATIO = 0.4
CALL_BACK_AFTER_RUSH_CLOSURE_RATIO = 0.3  # the problem is still there, whatever the rating said
NEIGHBOURS_CALL_RATIO = 0.1
MAX_REPEATS_PER_ISSUE = 6
REPEAT_LOAD_RATIO = 1.2  # repeats add about a fifth to the orders an office receives
FREQUENT_CALLERS = 5
FREQUENT_CALLS_PER_DAY = (2, 4)
FREQUENT_CALLER_DISPATCHED_RATIO = 0.5
CENTRE_CAPACITY_PER_APPEAL_RATIO = 1.5
SURGE_CATEGORIES = ("noise", "sanitation", "property_management", "illegal_construction")
SURGE_SHARED_ISSUE_RATIO = 0.35
STORM_EXACT_RATIO = 0.12
STORM_SAME_CALLER_RATIO = 0.18
PING_PONG_PARTNERS = ("sibling", "dept-urban", "dept-housing")
LOCATION_JITTER_DEGREES = 0.0003
# Calls that are no single service problem, drawn from a random stream of their own (so
# adding them leaves every other event of a seed unchanged) and numbered in their own
# daily series (GD<yyyymmdd>N<nnnn>): information enquiries the operator answers, and a
# chronic area-wide nuisance (aircraft noise over one district) answered with the
# standard explanation. Truth: an enquiry is its own issue and links to nothing; every
# aircraft-noise call of the district belongs to one standing issue.
ENQUIRY_RATIO = 0.03  # of appeals per day
AIRCRAFT_NOISE_RATIO = 0.01
AIRCRAFT_NOISE_CALLERS = 12

_CHANNEL_CUMULATIVE_WEIGHTS = tuple(itertools.accumulate(CHANNEL_WEIGHTS))
_URGENCY_CUMULATIVE_WEIGHTS = tuple(itertools.accumulate(URGENCY_WEIGHTS))

# Kinds of arrival on the heap.
_FRESH = "fresh"  # drawn when it arrives: consultation, out of scope or a new issue
_REPEAT = "repeat"
_FREQUENT = "frequent"
_SURGE = "surge"
_STORM = "storm"
_ENQUIRY = "enquiry"
_AIRCRAFT_NOISE = "aircraft_noise"


@dataclass(frozen=True)
class SimulationSpec:
    days: int
    seed: int
    scenario: str = "steady"
    start: date = DEFAULT_START
    appeals_per_day: int = DEFAULT_APPEALS_PER_DAY


@dataclass(frozen=True)
class Simulation:
    events: tuple[dict[str, Any], ...]
    offices: tuple[dict[str, Any], ...]
    truth: tuple[dict[str, Any], ...]


def encode_lines(records: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> bytes:
    """JSON lines with sorted keys (the contract codec), one record per line."""
    encode = codec.encode
    return b"".join([encode(record) + b"\n" for record in records])


@dataclass(frozen=True)
class _Issue:
    issue_id: str
    facts: texts.IssueFacts
    community: Community
    compound_name: str
    location: dict[str, Any]
    urgency: str


@dataclass(frozen=True)
class _Filed:
    """An appeal already received about an issue: what a repeat can copy or reword."""

    order_id: str
    caller_id: str
    channel: str
    wording: texts.Wording


@dataclass(frozen=True)
class _Arrival:
    kind: str
    issue: _Issue | None = None
    caller_id: str | None = None
    relation: str | None = None
    repeat_of: str | None = None
    copied: _Filed | None = None


@dataclass
class _ScenarioTargets:
    """What the scenario hits (drawn when the run starts) and what it has produced so far."""

    surge_office_id: str | None = None
    surge_issues: list[_Issue] = field(default_factory=list)
    storm_issue: _Issue | None = None
    storm_root: _Filed | None = None
    storm_filed: list[_Filed] = field(default_factory=list)
    storm_ends_at: int | None = None
    ping_pong_partners: dict[str, str] = field(default_factory=dict)
    rush_office_id: str | None = None


def simulate(spec: SimulationSpec) -> Simulation:
    if spec.scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {spec.scenario!r}; known: {', '.join(SCENARIOS)}")
    if spec.days < 1 or spec.appeals_per_day < 1:
        raise ValueError("days and appeals_per_day must be at least 1")
    # The run allocates a few hundred thousand small dicts and tuples and frees none of
    # them until it returns; generational collections would rescan them over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Run(spec).simulate()
    finally:
        if collecting:
            gc.enable()


def expected_daily_inflow(layout: City, appeals_per_day: int) -> dict[str, float]:
    """Orders an office should expect on a working day: the basis of its capacity."""
    dispatched = appeals_per_day * (1 - CONSULTATION_RATIO - OUT_OF_SCOPE_RATIO) * REPEAT_LOAD_RATIO
    total_category_weight = sum(category.weight for category in texts.CATEGORIES)
    total_population = sum(community.population_weight for community in layout.communities)
    inflow: dict[str, float] = {}
    for category in texts.CATEGORIES:
        category_orders = dispatched * category.weight / total_category_weight
        for community in layout.communities:
            orders = category_orders * community.population_weight / total_population
            office_id = route(category, community)
            inflow[office_id] = inflow.get(office_id, 0.0) + orders
            if office_id == community.street_id:
                inflow[community.office_id] = inflow.get(community.office_id, 0.0) + orders * DOWNWARD_TRANSFER_RATIO
    return inflow


class _Run:
    """One simulation: the city, its callers, the heap of arrivals and everything written."""

    def __init__(self, spec: SimulationSpec):
        self.spec = spec
        self.scenario: Scenario = SCENARIOS[spec.scenario]
        self.rng = rng = random.Random(spec.seed)
        self.calendar = SimCalendar(spec.start, spec.days)
        self.horizon = spec.days * SECONDS_PER_DAY
        layout = build_layout(rng)
        centre_capacity = math.ceil(spec.appeals_per_day * CENTRE_CAPACITY_PER_APPEAL_RATIO)
        self.city = with_capacities(layout, expected_daily_inflow(layout, spec.appeals_per_day), centre_capacity)
        self.rows: list[EventRow] = []
        self.lifecycles = Lifecycles(rng, self.calendar, self.city, self.rows)
        self.phone_book = PhoneBook(rng)
        self.known_callers: list[str] = []
        self.frequent_callers = [self.phone_book.new_number() for _ in range(FREQUENT_CALLERS)]
        self.community_cumulative_weights = list(itertools.accumulate(community.population_weight for community in self.city.communities))
        self.category_cumulative_weights = list(itertools.accumulate(category.weight for category in texts.CATEGORIES))
        self.heap: list[tuple[int, int, _Arrival]] = []
        self.pushed = 0
        self.orders_per_day: dict[int, int] = {}
        self.issue_count = 0
        self.filed_by_issue: dict[str, list[_Filed]] = {}
        self.repeats_by_issue: dict[str, int] = {}
        self.appeal_truth: list[dict[str, Any]] = []
        self.special_orders: dict[str, truth.SpecialOrder] = {}
        self.targets = _ScenarioTargets()
        self.side_rng = random.Random(f"{spec.seed}:no-service-problem")
        self.side_lifecycles = Lifecycles(self.side_rng, self.calendar, self.city, self.rows)
        self.side_phone_book = PhoneBook(self.side_rng)
        self.side_orders_per_day: dict[int, int] = {}
        self.enquiries = 0
        self.noise_district = self.side_rng.choice(sorted({community.district_name for community in self.city.communities}))
        self.noise_communities = [community for community in self.city.communities if community.district_name == self.noise_district]
        self.noise_callers = [self.side_phone_book.new_number() for _ in range(AIRCRAFT_NOISE_CALLERS)]
        self.noise_first_order: str | None = None

    def _push(self, at: int, arrival: _Arrival) -> None:
        if at < self.horizon:
            self.pushed += 1
            heapq.heappush(self.heap, (at, self.pushed, arrival))

    def _poisson_like(self, mean: float) -> int:
        """A count with the mean and spread of a Poisson draw, cheap to draw."""
        return max(0, round(mean + self.rng.gauss(0.0, math.sqrt(mean)))) if mean > 0 else 0

    def _schedule_city(self) -> None:
        rng = self.rng
        fresh = _Arrival(_FRESH)
        for day_index in range(self.spec.days):
            day_mean = self.spec.appeals_per_day * self.calendar.volume_factor(day_index)
            day_start = day_index * SECONDS_PER_DAY
            for hour, share in enumerate(HOURLY_SHARES):
                hour_start = day_start + hour * SECONDS_PER_HOUR
                for _ in range(self._poisson_like(day_mean * share)):
                    self._push(hour_start + rng.randrange(SECONDS_PER_HOUR), fresh)
            for caller_id in self.frequent_callers:
                for _ in range(rng.randint(*FREQUENT_CALLS_PER_DAY)):
                    self._push(day_start + rng.randint(8 * SECONDS_PER_HOUR, 22 * SECONDS_PER_HOUR), _Arrival(_FREQUENT, caller_id=caller_id))

    def _schedule_scenario(self) -> None:
        rng, scenario, city = self.rng, self.scenario, self.city
        first_full_day = min(1, self.spec.days - 1) * SECONDS_PER_DAY
        if scenario.surge_inflow_ratio:
            street = rng.choice(city.streets())
            self.targets.surge_office_id = street.office_id
            surge_start = first_full_day + 9 * SECONDS_PER_HOUR
            for hour_offset in range(scenario.surge_hours):
                hour_start = surge_start + hour_offset * SECONDS_PER_HOUR
                hour_share = HOURLY_SHARES[(hour_start // SECONDS_PER_HOUR) % 24]
                for _ in range(self._poisson_like(scenario.surge_inflow_ratio * street.daily_capacity * hour_share)):
                    self._push(hour_start + rng.randrange(SECONDS_PER_HOUR), _Arrival(_SURGE))
        if scenario.storm_days:
            community = rng.choices(city.communities, cum_weights=self.community_cumulative_weights)[0]
            category = texts.CATEGORY_BY_CODE["water_supply"]
            self.targets.storm_issue = self._new_issue(texts.IssueFacts(category, 0, 0, 0), community, "urgent")
            storm_start = 10 * SECONDS_PER_HOUR
            storm_end = min(self.horizon, storm_start + scenario.storm_days * SECONDS_PER_DAY)
            self.targets.storm_ends_at = storm_end
            per_day = max(scenario.storm_min_repeats_per_day, round(scenario.storm_repeats_per_appeal_ratio * self.spec.appeals_per_day))
            self._push(storm_start, _Arrival(_STORM))
            for _ in range(round(per_day * (storm_end - storm_start) / SECONDS_PER_DAY)):
                # density rising over the storm: more people call the longer it lasts
                self._push(storm_start + 1 + int((storm_end - storm_start - 1) * math.sqrt(rng.random())), _Arrival(_STORM))
        if scenario.ping_pong_offices:
            for street, partner in zip(rng.sample(city.streets(), scenario.ping_pong_offices), PING_PONG_PARTNERS):
                siblings = city.sibling_streets(street.office_id)
                partner_id = (rng.choice(siblings).office_id if siblings else "dept-urban") if partner == "sibling" else partner
                self.targets.ping_pong_partners[street.office_id] = partner_id
        if scenario.rush_closure_ratio:
            # the busiest street: the one under most pressure to meet the clock
            self.targets.rush_office_id = max(city.streets(), key=lambda street: street.daily_capacity).office_id

    def _schedule_no_service_problems(self) -> None:
        rng = self.side_rng
        for day_index in range(self.spec.days):
            day_mean = self.spec.appeals_per_day * self.calendar.volume_factor(day_index)
            day_start = day_index * SECONDS_PER_DAY
            for kind, ratio in ((_ENQUIRY, ENQUIRY_RATIO), (_AIRCRAFT_NOISE, AIRCRAFT_NOISE_RATIO)):
                for _ in range(max(0, round(day_mean * ratio + rng.gauss(0.0, math.sqrt(day_mean * ratio))))):
                    self._push(day_start + rng.randint(7 * SECONDS_PER_HOUR, 23 * SECONDS_PER_HOUR - 1), _Arrival(kind))

    def _side_order_id(self, at: int) -> str:
        day_index = at // SECONDS_PER_DAY
        number = self.side_orders_per_day.get(day_index, 0) + 1
        self.side_orders_per_day[day_index] = number
        return f"GD{self.calendar.compact_date(at)}N{number:04d}"

    def _enquiry(self, at: int) -> None:
        """An information call: the same operator's note, the centre's address."""
        rng = self.side_rng
        order_id = self._side_order_id(at)
        self.enquiries += 1
        location = {"district": self.city.communities[0].district_name, "address": texts.CENTRE_ADDRESS}
        self._record_appeal(
            at, order_id, self.side_phone_book.new_number(), "phone", texts.ENQUIRY_WORDING, texts.ENQUIRY_CATEGORY, "normal",
            location, f"ENQ{self.enquiries:06d}",
        )
        self.side_lifecycles.answer(order_id, at, rng.choice(texts.CONSULTATION_ANSWERS), "normal")

    def _aircraft_noise(self, at: int) -> None:
        """Aircraft noise over one district: residents call again and again, each in
        their own words, about one chronic nuisance nobody can fix by an order."""
        rng = self.side_rng
        order_id = self._side_order_id(at)
        community = rng.choice(self.noise_communities)
        compound, location = self._place_in(community, rng)
        issue_id = f"STANDING-{texts.AIRCRAFT_NOISE_CATEGORY}-{self.noise_district}"
        repeat_of, relation = (self.noise_first_order, "standing_case") if self.noise_first_order else (None, None)
        self._record_appeal(
            at, order_id, rng.choice(self.noise_callers), self._side_channel(), texts.word_aircraft_noise(rng, compound.name, location["address"]),
            texts.AIRCRAFT_NOISE_CATEGORY, "normal", location, issue_id, repeat_of, relation,
        )
        self.noise_first_order = self.noise_first_order or order_id
        self.side_lifecycles.answer(order_id, at, rng.choice(texts.AIRCRAFT_NOISE_ANSWERS), "normal")

    def _side_channel(self) -> str:
        return self.side_rng.choices(CHANNELS, cum_weights=_CHANNEL_CUMULATIVE_WEIGHTS)[0]

    def simulate(self) -> Simulation:
        self._schedule_scenario()
        self._schedule_city()
        self._schedule_no_service_problems()
        heap = self.heap
        while heap:
            at, _, arrival = heapq.heappop(heap)
            self._receive(at, arrival)
        rows = [row for row in self.rows if row[0] < self.horizon]
        rows.sort()
        local_text = self.calendar.local_text
        events = tuple(
            {"event_id": event_id, "type": event_type, "order_id": order_id, "occurred_at": local_text(at), "schema": 1, "data": data}
            for at, event_id, event_type, order_id, data in rows
        )
        # Truth lists appeals in event order; arrivals drawn from the two random streams
        # can fall in the same second, where the heap and the event sort may disagree.
        received_at = {row[3]: (row[0], row[1]) for row in rows if row[2] == "appeal.received"}
        self.appeal_truth.sort(key=lambda record: received_at.get(record["order_id"], (self.horizon, record["order_id"])))
        capacities = {office.office_id: office.daily_capacity for office in self.city.offices}
        ground_truth = truth.ground_truth(rows, self.appeal_truth, self.special_orders, capacities, self.horizon, self.calendar.utc_text)
        return Simulation(events, tuple(office.registry_record() for office in self.city.offices), ground_truth)

    def _new_order_id(self, at: int) -> str:
        day_index = at // SECONDS_PER_DAY
        number = self.orders_per_day.get(day_index, 0) + 1
        self.orders_per_day[day_index] = number
        return f"GD{self.calendar.compact_date(at)}{number:05d}"

    def _new_issue(self, facts: texts.IssueFacts, community: Community, urgency: str) -> _Issue:
        compound, location = self._place_in(community)
        return _Issue(self._new_issue_id(), facts, community, compound.name, location, urgency)

    def _place_in(self, community: Community, rng: random.Random | None = None) -> tuple[Compound, dict[str, Any]]:
        """An address in one of the community's compounds, as an appeal's location, drawn
        from `rng` (the main stream unless given)."""
        rng = rng or self.rng
        compound = rng.choice(community.compounds)
        address = f"{community.district_name}{community.road}{compound.house_number}号{compound.name}{rng.randint(1, 24)}栋{rng.randint(1, 4)}单元"
        location = {
            "district": community.district_name,
            "street": community.street_name,
            "community": community.name,
            "address": address,
            "lat": round(community.lat + rng.uniform(-0.002, 0.002), 6),
            "lon": round(community.lon + rng.uniform(-0.002, 0.002), 6),
        }
        return compound, location

    def _draw_issue(self, categories: tuple[texts.Category, ...] | None = None, community: Community | None = None) -> _Issue:
        rng = self.rng
        if categories is None:
            category = rng.choices(texts.CATEGORIES, cum_weights=self.category_cumulative_weights)[0]
        else:
            category = rng.choice(categories)
        if community is None:
            community = rng.choices(self.city.communities, cum_weights=self.community_cumulative_weights)[0]
        urgency = rng.choices(URGENCIES, cum_weights=_URGENCY_CUMULATIVE_WEIGHTS)[0]
        return self._new_issue(texts.draw_facts(rng, category), community, urgency)

    def _word(self, issue: _Issue, caller_id: str, avoid: texts.Wording | None = None) -> texts.Wording:
        """A caller's own wording; a reworded repeat never matches what it repeats."""
        rng = self.rng
        while True:
            wording = texts.word_appeal(rng, issue.facts, issue.compound_name, issue.location["address"])
            if wording != avoid:
                break
        if rng.random() < CONTACT_IN_TEXT_RATIO:
            wording = texts.Wording(wording.title, wording.text + texts.contact_phrase(rng, caller_id))
        if rng.random() < ID_NUMBER_IN_TEXT_RATIO:
            wording = texts.Wording(wording.title, wording.text + texts.id_number_phrase(rng, id_card_number(rng)))
        return wording

    def _caller_for_fresh_issue(self) -> str:
        if self.known_callers and self.rng.random() < RETURNING_CALLER_RATIO:
            return self.rng.choice(self.known_callers)
        caller_id = self.phone_book.new_number()
        self.known_callers.append(caller_id)
        return caller_id

    def _channel(self) -> str:
        return self.rng.choices(CHANNELS, cum_weights=_CHANNEL_CUMULATIVE_WEIGHTS)[0]

    def _receive(self, at: int, arrival: _Arrival) -> None:
        kind = arrival.kind
        if kind == _FRESH:
            draw = self.rng.random()
            if draw < CONSULTATION_RATIO:
                self._consultation(at)
            elif draw < CONSULTATION_RATIO + OUT_OF_SCOPE_RATIO:
                self._out_of_scope(at)
            else:
                self._issue_appeal(at, self._draw_issue(), self._caller_for_fresh_issue(), self._channel())
        elif kind == _REPEAT:
            self._repeat(at, arrival)
        elif kind == _FREQUENT:
            self._frequent(at, arrival.caller_id)
        elif kind == _SURGE:
            self._surge(at)
        elif kind == _ENQUIRY:
            self._enquiry(at)
        elif kind == _AIRCRAFT_NOISE:
            self._aircraft_noise(at)
        else:
            self._storm(at)

    def _record_appeal(
        self,
        at: int,
        order_id: str,
        caller_id: str,
        channel: str,
        wording: texts.Wording,
        category: str,
        urgency: str,
        location: dict[str, Any],
        issue_id: str,
        repeat_of: str | None = None,
        relation: str | None = None,
        unreasonable_reason: str | None = None,
    ) -> None:
        data = {
            "channel": channel,
            "caller_id": caller_id,
            "title": wording.title,
            "text": wording.text,
            "category": category,
            "urgency": urgency,
            "location": location,
            "source": SOURCE,
        }
        self.rows.append((at, appeal_event_id(order_id), "appeal.received", order_id, data))
        self.appeal_truth.append(truth.appeal_record(order_id, issue_id, repeat_of, relation, unreasonable_reason))

    def _new_issue_id(self) -> str:
        self.issue_count += 1
        return f"ISS{self.issue_count:06d}"

    def _consultation(self, at: int) -> None:
        rng = self.rng
        consultation = rng.choice(texts.CONSULTATIONS)
        community = rng.choices(self.city.communities, cum_weights=self.community_cumulative_weights)[0]
        order_id = self._new_order_id(at)
        self._record_appeal(
            at, order_id, self._caller_for_fresh_issue(), self._channel(), texts.word_consultation(rng, consultation),
            consultation.category, "normal", {"district": community.district_name}, self._new_issue_id(),
        )
        self.lifecycles.answer(order_id, at, rng.choice(texts.CONSULTATION_ANSWERS), "normal")

    def _out_of_scope(self, at: int) -> None:
        rng = self.rng
        scope = rng.choice(texts.OUT_OF_SCOPE)
        order_id = self._new_order_id(at)
        if scope.located:
            community = rng.choices(self.city.communities, cum_weights=self.community_cumulative_weights)[0]
            location, community_id = self._place_in(community)[1], community.office_id
        else:
            location, community_id = {}, None
        wording = texts.word_out_of_scope(rng, scope, location.get("address", ""))
        channel = "phone" if scope.urgency == "emergency" else self._channel()
        self._record_appeal(
            at, order_id, self._caller_for_fresh_issue(), channel, wording, scope.category, scope.urgency, location,
            self._new_issue_id(), unreasonable_reason=texts.truth_reason(scope, wording),
        )
        if scope.reason in texts.OUT_OF_SCOPE_RETURN_REASONS and rng.random() < OUT_OF_SCOPE_DISPATCHED_RATIO:
            office_id = texts.CATEGORY_BY_CODE[scope.category].route
            self.lifecycles.dispatch(OrderPlan(order_id, at, office_id, scope.urgency, community_id, out_of_scope_reason=scope.reason))
        else:
            self.lifecycles.answer(order_id, at, scope.answer, scope.urgency)

    def _frequent(self, at: int, caller_id: str) -> None:
        """A frequent caller: another unrelated complaint, anywhere in the city."""
        rng = self.rng
        issue = self._draw_issue()
        order_id = self._new_order_id(at)
        wording = self._word(issue, caller_id)
        self._record_appeal(
            at, order_id, caller_id, self._channel(), wording, issue.facts.category.code, "normal", issue.location,
            issue.issue_id, unreasonable_reason="frequent_caller",
        )
        if rng.random() < FREQUENT_CALLER_DISPATCHED_RATIO:
            self.lifecycles.dispatch(OrderPlan(order_id, at, route(issue.facts.category, issue.community), "normal", issue.community.office_id))
        else:
            self.lifecycles.answer(order_id, at, rng.choice(texts.FREQUENT_CALLER_ANSWERS), "normal")

    def _plan(self, order_id: str, at: int, issue: _Issue) -> OrderPlan:
        """The plan of an order about an ordinary issue, with the scenario's behaviours."""
        office_id = route(issue.facts.category, issue.community)
        targets = self.targets
        partner_id = targets.ping_pong_partners.get(office_id)
        if partner_id is not None and self.rng.random() < self.scenario.ping_pong_ratio:
            return OrderPlan(order_id, at, office_id, issue.urgency, issue.community.office_id, ping_pong_partner_id=partner_id)
        if office_id == targets.rush_office_id and self.rng.random() < self.scenario.rush_closure_ratio:
            return OrderPlan(order_id, at, office_id, issue.urgency, issue.community.office_id, rush_closure=True)
        return OrderPlan(order_id, at, office_id, issue.urgency, issue.community.office_id, keep_at_office=office_id == targets.surge_office_id)

    def _dispatch(self, plan: OrderPlan) -> OrderOutcome:
        outcome = self.lifecycles.dispatch(plan)
        if plan.ping_pong_partner_id is not None or outcome.rush_closed:
            self.special_orders[plan.order_id] = truth.SpecialOrder(plan.ping_pong_partner_id is not None, outcome.rush_closed, outcome.effective_due_at)
        return outcome

    def _file(self, issue: _Issue, filed: _Filed) -> None:
        self.filed_by_issue.setdefault(issue.issue_id, []).append(filed)

    def _issue_appeal(self, at: int, issue: _Issue, caller_id: str, channel: str) -> None:
        """The first appeal about an issue, and the calls it will provoke."""
        order_id = self._new_order_id(at)
        wording = self._word(issue, caller_id)
        self._record_appeal(at, order_id, caller_id, channel, wording, issue.facts.category.code, issue.urgency, issue.location, issue.issue_id)
        filed = _Filed(order_id, caller_id, channel, wording)
        self._file(issue, filed)
        outcome = self._dispatch(self._plan(order_id, at, issue))
        self._schedule_follow_ups(at, issue, filed, outcome)

    def _schedule_follow_ups(self, at: int, issue: _Issue, filed: _Filed, outcome: OrderOutcome) -> None:
        rng = self.rng
        if rng.random() < EXACT_RESUBMISSION_RATIO:
            self._schedule_repeat(at + rng.randint(*EXACT_RESUBMISSION_DELAY_SECONDS), issue, filed.caller_id, "exact_resubmission", filed)
        resolved_at = outcome.resolved_at if outcome.resolved_at is not None else at + SLOW_ORDER_SECONDS
        if resolved_at - at > SLOW_ORDER_SECONDS and rng.random() < CHASE_WHEN_SLOW_RATIO:
            latest = min(resolved_at - at, 6 * SECONDS_PER_DAY)
            self._schedule_repeat(at + rng.randint(int(1.5 * SECONDS_PER_DAY), max(int(1.5 * SECONDS_PER_DAY) + 1, latest)), issue, filed.caller_id, "same_caller_same_issue", filed)
        if outcome.unhappy and outcome.rated_at is not None and rng.random() < CALL_BACK_WHEN_UNHAPPY_RATIO:
            self._schedule_repeat(outcome.rated_at + rng.randint(2 * SECONDS_PER_HOUR, 3 * SECONDS_PER_DAY), issue, filed.caller_id, "same_caller_same_issue", filed)
        elif outcome.rush_closed and outcome.rated_at is not None and rng.random() < CALL_BACK_AFTER_RUSH_CLOSURE_RATIO:
            self._schedule_repeat(outcome.rated_at + rng.randint(2 * SECONDS_PER_HOUR, 3 * SECONDS_PER_DAY), issue, filed.caller_id, "same_caller_same_issue", filed)
        if issue.facts.category.neighbourly and rng.random() < NEIGHBOURS_CALL_RATIO:
            latest = max(SECONDS_PER_HOUR, min(4 * SECONDS_PER_DAY, resolved_at - at))
            for _ in range(rng.randint(1, 3)):
                self._schedule_repeat(at + rng.randint(1200, max(1201, latest)), issue, None, "other_caller_same_issue", self.filed_by_issue[issue.issue_id][0])

    def _schedule_repeat(self, at: int, issue: _Issue, caller_id: str | None, relation: str, parent: _Filed) -> None:
        count = self.repeats_by_issue.get(issue.issue_id, 0)
        if count < MAX_REPEATS_PER_ISSUE:
            self.repeats_by_issue[issue.issue_id] = count + 1
            copied = parent if relation == "exact_resubmission" else None
            self._push(at, _Arrival(_REPEAT, issue, caller_id, relation, parent.order_id, copied))

    def _repeat_appeal(self, at: int, issue: _Issue, caller_id: str, relation: str, parent: _Filed, exact: bool) -> tuple[str, _Filed]:
        rng = self.rng
        order_id = self._new_order_id(at)
        if exact:
            wording = parent.wording
            channel = rng.choice([channel for channel in CHANNELS if channel != parent.channel]) if rng.random() < OTHER_CHANNEL_ON_RESUBMISSION_RATIO else parent.channel
            location = issue.location
        else:
            wording = self._word(issue, caller_id, avoid=parent.wording)
            channel = self._channel()
            location = issue.location if caller_id == parent.caller_id else self._neighbour_location(issue)
        self._record_appeal(at, order_id, caller_id, channel, wording, issue.facts.category.code, issue.urgency, location, issue.issue_id, parent.order_id, relation)
        filed = _Filed(order_id, caller_id, channel, wording)
        self._file(issue, filed)
        return order_id, filed

    def _neighbour_location(self, issue: _Issue) -> dict[str, Any]:
        """Another caller at the same address, geocoded a few metres apart."""
        rng = self.rng
        return {
            **issue.location,
            "lat": round(issue.location["lat"] + rng.uniform(-LOCATION_JITTER_DEGREES, LOCATION_JITTER_DEGREES), 6),
            "lon": round(issue.location["lon"] + rng.uniform(-LOCATION_JITTER_DEGREES, LOCATION_JITTER_DEGREES), 6),
        }

    def _repeat(self, at: int, arrival: _Arrival) -> None:
        issue, parent = arrival.issue, arrival.copied
        if parent is None:
            parent = next(filed for filed in self.filed_by_issue[issue.issue_id] if filed.order_id == arrival.repeat_of)
        caller_id = arrival.caller_id
        if caller_id is None:
            caller_id = self.phone_book.new_number()
            self.known_callers.append(caller_id)
        order_id, filed = self._repeat_appeal(at, issue, caller_id, arrival.relation, parent, arrival.relation == "exact_resubmission")
        self._dispatch(self._plan(order_id, at, issue))
        if arrival.relation != "exact_resubmission" and self.rng.random() < EXACT_RESUBMISSION_RATIO:
            self._schedule_repeat(at + self.rng.randint(*EXACT_RESUBMISSION_DELAY_SECONDS), issue, caller_id, "exact_resubmission", filed)

    def _surge(self, at: int) -> None:
        """The overloaded street: new problems, and neighbours reporting the same ones."""
        rng = self.rng
        targets = self.targets
        if targets.surge_issues and rng.random() < SURGE_SHARED_ISSUE_RATIO:
            issue = rng.choice(targets.surge_issues)
            first = self.filed_by_issue[issue.issue_id][0]
            self._repeat(at, _Arrival(_REPEAT, issue, None, "other_caller_same_issue", first.order_id))
            return
        communities = [community for community in self.city.communities if community.street_id == targets.surge_office_id]
        categories = tuple(texts.CATEGORY_BY_CODE[code] for code in SURGE_CATEGORIES)
        issue = self._draw_issue(categories, rng.choice(communities))
        targets.surge_issues.append(issue)
        caller_id = self.phone_book.new_number()
        self.known_callers.append(caller_id)
        self._issue_appeal(at, issue, caller_id, self._channel())

    def _storm(self, at: int) -> None:
        """The unresolved outage: its first appeal, then repeats of every kind."""
        rng = self.rng
        targets = self.targets
        issue = targets.storm_issue
        if targets.storm_root is None:
            caller_id = self.phone_book.new_number()
            order_id = self._new_order_id(at)
            wording = self._word(issue, caller_id)
            self._record_appeal(at, order_id, caller_id, "phone", wording, issue.facts.category.code, issue.urgency, issue.location, issue.issue_id)
            targets.storm_root = _Filed(order_id, caller_id, "phone", wording)
            targets.storm_filed.append(targets.storm_root)
            self._file(issue, targets.storm_root)
        else:
            draw = rng.random()
            if draw < STORM_EXACT_RATIO:
                parent = rng.choice(targets.storm_filed)
                order_id, filed = self._repeat_appeal(at, issue, parent.caller_id, "exact_resubmission", parent, exact=True)
            elif draw < STORM_EXACT_RATIO + STORM_SAME_CALLER_RATIO:
                parent = rng.choice(targets.storm_filed)
                order_id, filed = self._repeat_appeal(at, issue, parent.caller_id, "same_caller_same_issue", parent, exact=False)
            else:
                caller_id = self.phone_book.new_number()
                order_id, filed = self._repeat_appeal(at, issue, caller_id, "other_caller_same_issue", targets.storm_root, exact=False)
            targets.storm_filed.append(filed)
        self._dispatch(
            OrderPlan(order_id, at, route(issue.facts.category, issue.community), issue.urgency, issue.community.office_id,
                      resolve_not_before=targets.storm_ends_at, keep_at_office=True)
        )
