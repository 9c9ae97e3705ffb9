"""What printed PHI says: names, dates of birth, record numbers, phones, addresses."""

from __future__ import annotations

import datetime as dt

import faker as faker_mod
import numpy as np

#: dates are drawn relative to this fixed day, not "today" (Faker's date_of_birth and
#: date_between are relative to the clock, which would make the dataset depend on the run date)
REFERENCE_DAY = dt.date(2026, 1, 1)


def _days_before(rng: np.random.Generator, low: int, high: int) -> dt.date:
    return REFERENCE_DAY - dt.timedelta(days=int(rng.integers(low, high)))


def phi_line(fk: faker_mod.Faker, rng: np.random.Generator, kind: str) -> str:
    """One line of PHI of ``kind`` (name, dob, mrn, phone, address, other) in a varied format."""
    # some locales print a street address on two lines ("Flat 5\nDebra Walks"); a line of a
    # label is one object, and a newline breaks font layout (raqm_layout() fails)
    return _phi_text(fk, rng, kind).replace("\n", ", ")


def _phi_text(fk: faker_mod.Faker, rng: np.random.Generator, kind: str) -> str:
    pick = int(rng.integers(4))
    if kind == "name":
        first, last = fk.first_name(), fk.last_name()
        return [
            f"{last.upper()}, {first.upper()}",
            f"{first} {last}",
            f"Name: {first} {last}",
            f"{last}, {first} {fk.random_uppercase_letter()}.",
        ][pick]
    if kind == "dob":
        d = _days_before(rng, 0, 100 * 365)
        return [f"DOB: {d:%m/%d/%Y}", f"DOB {d:%Y-%m-%d}", f"D.O.B. {d:%d.%m.%Y}", f"{d:%d %b %Y}"][
            pick
        ]
    if kind == "mrn":
        num = fk.numerify("#" * int(rng.integers(6, 11)))
        return [f"MRN: {num}", f"MRN {num}", f"ID# {num}", f"Acct {num}"][pick]
    if kind == "phone":
        return ["", "Tel: ", "Ph ", "Phone: "][pick] + fk.phone_number()
    if kind == "address":
        return fk.street_address() if pick < 2 else f"{fk.city()} {fk.postcode()}"
    age = int(rng.integers(1, 99))
    return [
        f"Sex: {'MF'[pick % 2]}  Age: {age}y",
        f"Dr. {fk.last_name()}",
        f"Adm: {_days_before(rng, 0, 2 * 365):%m/%d/%y}",
        f"Rm {rng.integers(100, 999)}B",
    ][pick]


def label_lines(fk: faker_mod.Faker, rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """``n`` (kind, text) lines in the order a patient label prints them (name first)."""
    kinds = ["name", "dob", "mrn", "phone", "address", "other", "other"]
    order = ["name"] + [str(k) for k in rng.permutation(kinds[1:])]
    return [(k, phi_line(fk, rng, k)) for k in order[:n]]
