"""Free slots (J14): published weekly hours minus closed days, plus extra hours, within lead time
and horizon, in the agency's time zone across the changes of daylight-saving time, minus the
counselors' appointments and the slots held for somebody."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from tests.booking_helpers import publish
from tests.personas import make_staff

from videotermin.appointments import services as appointments
from videotermin.booking import slots
from videotermin.booking.models import Hold, ScheduleException

BERLIN = ZoneInfo("Europe/Berlin")


def rules(**changes) -> slots.Rules:
    values = {
        "slot_minutes": 30,
        "lead": timedelta(0),
        "horizon": timedelta(days=14),
        "weekly": {0: [(time(9), time(11))]},  # Mondays 09:00 to 11:00
    }
    return slots.Rules(**{**values, **changes})


def local(moments) -> list[str]:
    return [m.astimezone(BERLIN).strftime("%a %d.%m. %H:%M") for m, _end in moments]


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


MONDAY = date(2025, 6, 2)


def test_weekly_hours_are_cut_into_slots_of_the_schedules_length():
    offered = slots.published(rules(horizon=timedelta(days=6)), BERLIN, at(MONDAY))
    assert local(offered) == [
        "Mon 02.06. 09:00",
        "Mon 02.06. 09:30",
        "Mon 02.06. 10:00",
        "Mon 02.06. 10:30",
    ]
    assert all(end - start == timedelta(minutes=30) for start, end in offered)


def test_a_slot_that_does_not_fit_before_the_end_of_the_hours_is_not_offered():
    offered = slots.published(rules(slot_minutes=45, horizon=timedelta(days=6)), BERLIN, at(MONDAY))
    assert local(offered) == ["Mon 02.06. 09:00", "Mon 02.06. 09:45"]


def test_closed_days_take_the_weekly_hours_away_but_extra_hours_are_offered():
    whitsun_monday = date(2025, 6, 9)
    offered = slots.published(
        rules(
            closed=[(whitsun_monday, whitsun_monday)],
            extra={
                date(2025, 6, 4): [(time(14), time(15))],
                whitsun_monday: [(time(12), time(12, 30))],
            },
        ),
        BERLIN,
        at(MONDAY),
    )
    days = local(offered)
    assert "Wed 04.06. 14:00" in days and "Wed 04.06. 14:30" in days
    assert not [d for d in days if d.startswith("Mon 09.06. 09")]
    assert "Mon 09.06. 12:00" in days
    assert [d for d in days if d.startswith("Mon 16.06.")] == []  # beyond the horizon


def test_a_closed_period_spans_every_day_from_its_first_to_its_last():
    offered = slots.published(
        rules(
            weekly={day: [(time(9), time(10))] for day in range(7)},
            closed=[(date(2025, 6, 3), date(2025, 6, 5))],
        ),
        BERLIN,
        at(MONDAY),
    )
    days = {start.astimezone(BERLIN).date() for start, _end in offered}
    assert date(2025, 6, 2) in days and date(2025, 6, 6) in days
    assert not days & {date(2025, 6, 3), date(2025, 6, 4), date(2025, 6, 5)}


def test_the_lead_time_keeps_slots_too_close_to_now_back_and_the_horizon_later_ones():
    now = at(MONDAY, 8, 40)
    offered = slots.published(
        rules(lead=timedelta(hours=1), horizon=timedelta(days=7)), BERLIN, now
    )
    assert local(offered) == [
        "Mon 02.06. 10:00",
        "Mon 02.06. 10:30",
        # A week later at 08:40 is the horizon's end: that Monday's 09:00 is beyond it.
    ]


def test_nine_oclock_stays_nine_oclock_when_summer_time_begins():
    offered = slots.published(
        rules(weekly={0: [(time(9), time(9, 30))]}), BERLIN, at(date(2025, 3, 23))
    )
    assert [start for start, _end in offered] == [
        datetime(2025, 3, 24, 8, 0, tzinfo=UTC),  # 09:00 CET
        datetime(2025, 3, 31, 7, 0, tzinfo=UTC),  # 09:00 CEST
    ]


def test_in_the_night_clocks_go_forward_the_missing_hour_has_no_slots():
    sunday = date(2025, 3, 30)
    offered = slots.published(
        rules(slot_minutes=60, weekly={6: [(time(1), time(4))]}, horizon=timedelta(days=1)),
        BERLIN,
        at(sunday),
    )
    assert local(offered) == ["Sun 30.03. 01:00", "Sun 30.03. 03:00"]
    assert all(end - start == timedelta(hours=1) for start, end in offered)


def test_in_the_night_clocks_go_back_the_repeated_hour_has_its_slots_twice():
    sunday = date(2025, 10, 26)
    offered = slots.published(
        rules(slot_minutes=60, weekly={6: [(time(1), time(4))]}, horizon=timedelta(days=1)),
        BERLIN,
        at(sunday),
    )
    assert local(offered) == [
        "Sun 26.10. 01:00",
        "Sun 26.10. 02:00",
        "Sun 26.10. 02:00",
        "Sun 26.10. 03:00",
    ]
    assert [start.utcoffset() for start, _end in offered] == [timedelta(0)] * 4
    assert len({start for start, _end in offered}) == 4


def test_hours_are_read_in_the_agencys_time_zone(agency, location, counselor):
    agency.time_zone = "America/New_York"
    agency.save()
    schedule = publish(agency, location, counselor, weekdays=[0], starts=time(9), ends=time(10))
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    found = slots.free_slots([schedule], now=now)
    assert found[0].starts_at == datetime(2025, 6, 2, 13, tzinfo=UTC)  # 09:00 EDT


# Against what the counselors have already


@pytest.fixture
def monday() -> date:
    """A Monday next week or the week after, well within every horizon."""
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday() + 7)


@pytest.fixture
def alices_hours(agency, location, counselor):
    return publish(agency, location, counselor, weekdays=[0], starts=time(9), ends=time(11))


def starts(found) -> list[str]:
    return [slot.starts_at.astimezone(BERLIN).strftime("%H:%M") for slot in found]


def test_an_appointment_of_the_counselor_takes_every_slot_it_overlaps(alices_hours, book, monday):
    book(starts_at=at(monday, 9, 15), duration_minutes=30)
    found = slots.free_slots([alices_hours], now=at(monday))
    assert starts(found) == ["10:00", "10:30"]


def test_a_cancelled_appointment_gives_its_slot_back(alices_hours, book, counselor, monday):
    booking = book(starts_at=at(monday, 9), duration_minutes=30)
    assert "09:00" not in starts(slots.free_slots([alices_hours], now=at(monday)))
    appointments.cancel_appointment(booking.appointment, by=counselor)
    assert "09:00" in starts(slots.free_slots([alices_hours], now=at(monday)))


def test_another_counselors_appointment_takes_nothing_from_alice(
    alices_hours, book, colleague, monday
):
    book(starts_at=at(monday, 9), by=colleague)
    assert starts(slots.free_slots([alices_hours], now=at(monday))) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
    ]


def test_a_slot_held_for_someone_is_taken_until_the_hold_expires(
    alices_hours, agency, location, counselor, monday
):
    from tests.booking_helpers import turn_on_page

    hold = Hold.objects.create(
        page=turn_on_page(agency),
        schedule=alices_hours,
        location=location,
        counselor=counselor,
        starts_at=at(monday, 9, 30),
        duration_minutes=30,
        expires_at=at(monday) + timedelta(minutes=10),
        name="Erik Sommer",
        email="erik@example.org",
        token_hash="x" * 64,
    )
    assert "09:30" not in starts(slots.free_slots([alices_hours], now=at(monday)))
    later = hold.expires_at + timedelta(seconds=1)
    assert "09:30" in starts(slots.free_slots([alices_hours], now=later))


def test_a_locations_hours_are_free_while_one_of_its_counselors_is(
    agency, location, counselor, colleague, book, monday
):
    hours = publish(agency, location, weekdays=[0], starts=time(9), ends=time(10))
    book(starts_at=at(monday, 9), by=counselor)
    [first, second] = slots.free_slots([hours], now=at(monday))
    assert (starts([first]), first.counselors) == (["09:00"], (colleague.pk,))
    assert set(second.counselors) == {counselor.pk, colleague.pk}
    book(starts_at=at(monday, 9), by=colleague)
    assert starts(slots.free_slots([hours], now=at(monday))) == ["09:30"]


def test_a_location_hours_are_held_by_its_counselors_only(agency, location, counselor, monday):
    elsewhere = location.__class__.objects.create(agency=agency, name="Musterstadt Nord")
    make_staff(agency, elsewhere, "nora", "Nora Nord")
    hours = publish(agency, location, weekdays=[0], starts=time(9), ends=time(9, 30))
    [slot] = slots.free_slots([hours], now=at(monday))
    assert slot.counselors == (counselor.pk,)


def test_a_deactivated_counselor_offers_nothing(alices_hours, counselor, monday):
    counselor.is_active = False
    counselor.save()
    assert slots.free_slots([alices_hours], now=at(monday)) == []


def test_closing_a_day_of_a_schedule_through_an_exception_row(alices_hours, monday):
    ScheduleException.objects.create(
        schedule=alices_hours, kind="closed", first_day=monday, last_day=monday
    )
    alices_hours.refresh_from_db()
    found = slots.free_slots([alices_hours], now=at(monday))
    assert all(slot.starts_at.astimezone(BERLIN).date() != monday for slot in found)


def test_a_slots_key_names_its_schedule_and_start_and_nothing_else_parses():
    start = datetime(2025, 6, 2, 7, tzinfo=UTC)
    parsed = slots.parse_key(
        f"{'a' * 8}-{'b' * 4}-{'c' * 4}-{'d' * 4}-{'e' * 12}.{int(start.timestamp())}"
    )
    assert parsed is not None and parsed[1] == start
    for wrong in ("", "x.1", "a" * 36 + ".-5", "a" * 36 + "." + "9" * 30):
        assert slots.parse_key(wrong) is None
