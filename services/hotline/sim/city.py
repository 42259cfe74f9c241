"""The simulated city: its office hierarchy, where people live and who handles what.

Consumes a seeded random generator (for the shape and names of the city) and the
expected daily inflow of each office (for capacities). Produces frozen `Office` records
(the registry of hotline.offices.v1: the 12345 centre, city departments, districts,
streets, communities) and `Community` places with roads, residential compounds and
coordinates. Office ids are readable: "city", "dept-housing", "d01", "d01-s02",
"d01-s02-c03".
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from hotline.sim.texts import STREET_ROUTE, Category

CITY_NAME = "云州市"
CITY_OFFICE_ID = "city"
DEPARTMENTS = (
    ("dept-housing", "市住房和城乡建设局"),
    ("dept-transport", "市交通运输局"),
    ("dept-market", "市市场监督管理局"),
    ("dept-environment", "市生态环境局"),
    ("dept-water", "市水务局"),
    ("dept-hrss", "市人力资源和社会保障局"),
    ("dept-urban", "市城市管理局"),
    ("dept-education", "市教育局"),
)
_DISTRICT_NAMES = ("江北区", "滨湖区", "高新区", "老城区", "临江区")
_STREET_NAMES = (
    "和平街道", "解放路街道", "新华街道", "人民路街道", "东风街道", "建设街道", "光明街道", "长安街道",
    "花园街道", "胜利街道", "文化街道", "育才街道", "金桥街道", "望江街道", "南湖街道", "北苑街道",
    "城关街道", "青年路街道", "幸福街道", "兴隆街道", "振兴街道", "友谊街道", "朝阳街道", "红旗街道", "滨江街道",
)
_COMMUNITY_FIRST = "春翠锦阳丽和紫枫桃明康龙万碧润金福瑞安嘉"
_COMMUNITY_SECOND = "晖园绣光景谐荆林源珠乐泉家水苑城湾庭华山"
_ROADS = (
    "中山路", "人民路", "建设大道", "滨江路", "解放大街", "文化路", "工业路", "学府路", "长江路", "黄河路",
    "和平路", "友谊大道", "新华路", "光明路", "幸福路", "胜利街", "园林路", "花园路", "民主路", "团结路",
)
_COMPOUND_SUFFIXES = ("家园", "小区", "花园", "新村", "公寓", "苑")
_CITY_CENTRE = (30.58, 114.30)

# Capacity = headroom over the expected working-day inflow, so a steady city is busy
# but not overloaded; the floor keeps small offices from tipping over on chance alone.
CAPACITY_HEADROOM_RATIO = 1.6
CAPACITY_NOISE_STANDARD_DEVIATIONS = 6
MIN_DAILY_CAPACITY = 15


@dataclass(frozen=True)
class Office:
    office_id: str
    name: str
    level: str  # city | department | district | street | community
    parent_id: str | None
    daily_capacity: int
    district: str | None = None

    def registry_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "office_id": self.office_id,
            "name": self.name,
            "level": self.level,
            "parent_id": self.parent_id,
            "daily_capacity": self.daily_capacity,
        }
        if self.district is not None:
            record["district"] = self.district
        return record


@dataclass(frozen=True)
class Compound:
    name: str
    house_number: int


@dataclass(frozen=True)
class Community:
    office_id: str
    name: str
    street_id: str
    street_name: str
    district_name: str
    road: str
    compounds: tuple[Compound, ...]
    lat: float
    lon: float
    population_weight: float


@dataclass(frozen=True)
class City:
    offices: tuple[Office, ...]
    communities: tuple[Community, ...]
    _by_id: dict[str, Office] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {office.office_id: office for office in self.offices})

    def office(self, office_id: str) -> Office:
        return self._by_id[office_id]

    def streets(self) -> tuple[Office, ...]:
        return tuple(office for office in self.offices if office.level == "street")

    def sibling_streets(self, street_id: str) -> tuple[Office, ...]:
        parent = self.office(street_id).parent_id
        return tuple(office for office in self.streets() if office.parent_id == parent and office.office_id != street_id)


def route(category: Category, community: Community) -> str:
    """The office a category's orders are dispatched to from a place."""
    return community.street_id if category.route == STREET_ROUTE else category.route


def build_layout(rng: random.Random) -> City:
    """The city's shape and names; every capacity is 0 until `with_capacities`."""
    offices = [Office(CITY_OFFICE_ID, f"{CITY_NAME}12345政务服务便民热线中心", "city", None, 0)]
    offices += [Office(office_id, name, "department", CITY_OFFICE_ID, 0) for office_id, name in DEPARTMENTS]
    street_names = rng.sample(_STREET_NAMES, len(_STREET_NAMES))
    community_names = [first + second for first in _COMMUNITY_FIRST for second in _COMMUNITY_SECOND]
    rng.shuffle(community_names)
    communities = []
    for district_number, district_name in enumerate(_DISTRICT_NAMES, start=1):
        district_id = f"d{district_number:02d}"
        offices.append(Office(district_id, f"{CITY_NAME}{district_name}人民政府", "district", CITY_OFFICE_ID, 0, district_name))
        angle = 2 * math.pi * district_number / len(_DISTRICT_NAMES)
        district_lat = _CITY_CENTRE[0] + 0.06 * math.sin(angle)
        district_lon = _CITY_CENTRE[1] + 0.07 * math.cos(angle)
        for street_number in range(1, rng.randint(3, 5) + 1):
            street_id = f"{district_id}-s{street_number:02d}"
            street_name = street_names.pop()
            offices.append(Office(street_id, f"{district_name}{street_name}办事处", "street", district_id, 0, district_name))
            street_lat = district_lat + rng.uniform(-0.02, 0.02)
            street_lon = district_lon + rng.uniform(-0.02, 0.02)
            for community_number in range(1, rng.randint(2, 4) + 1):
                community_id = f"{street_id}-c{community_number:02d}"
                community_name = community_names.pop() + "社区"
                offices.append(Office(community_id, f"{street_name}{community_name}居民委员会", "community", street_id, 0, district_name))
                compounds = _compounds(rng, community_name)
                communities.append(
                    Community(
                        community_id, community_name, street_id, street_name, district_name, rng.choice(_ROADS), compounds,
                        round(street_lat + rng.uniform(-0.006, 0.006), 6), round(street_lon + rng.uniform(-0.006, 0.006), 6),
                        rng.uniform(0.5, 1.5),
                    )
                )
    return City(tuple(offices), tuple(communities))


def _compounds(rng: random.Random, community_name: str) -> tuple[Compound, ...]:
    """Residential compounds of a community; the first one shares the community's name."""
    names = [community_name[:2] + rng.choice(_COMPOUND_SUFFIXES)]
    for _ in range(rng.randint(1, 2)):
        names.append(rng.choice(_COMMUNITY_FIRST) + community_name[1] + rng.choice(_COMPOUND_SUFFIXES))
    return tuple(Compound(name, rng.randint(1, 400)) for name in names)


def daily_capacity(expected_daily_inflow: float) -> int:
    headroom = CAPACITY_HEADROOM_RATIO * expected_daily_inflow + CAPACITY_NOISE_STANDARD_DEVIATIONS * math.sqrt(expected_daily_inflow)
    return max(MIN_DAILY_CAPACITY, math.ceil(headroom))


def with_capacities(layout: City, expected_daily_inflow: dict[str, float], centre_daily_capacity: int) -> City:
    """Capacities from expected inflow; a district handles what its streets escalate, so
    it gets a tenth of their capacity."""
    capacities = {office.office_id: daily_capacity(expected_daily_inflow.get(office.office_id, 0.0)) for office in layout.offices}
    capacities[CITY_OFFICE_ID] = centre_daily_capacity
    for office in layout.offices:
        if office.level == "district":
            streets = [capacities[street.office_id] for street in layout.offices if street.parent_id == office.office_id]
            capacities[office.office_id] = max(MIN_DAILY_CAPACITY, math.ceil(sum(streets) / 10))
    offices = tuple(
        Office(office.office_id, office.name, office.level, office.parent_id, capacities[office.office_id], office.district)
        for office in layout.offices
    )
    return City(offices, layout.communities)
