"""Write sandgym/envs/tools/data/word_problems.jsonl: word problems with exact numeric answers.

Each problem's answer is computed here by the expression next to it (so a typo in an
answer cannot slip in), and the gold call submits that number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "sandgym" / "envs" / "tools" / "data"

PROBLEMS = [
    ("apples", "Ana has 17 apples and buys 3 bags of 12 apples. How many apples does she have?",
     17 + 3 * 12),
    ("train", "A train travels at 84 km/h for 3.5 hours. How many kilometres does it cover?",
     84 * 3.5),
    ("pages", "A book has 432 pages. Tom reads 18 pages a day. How many days does he need to "
     "finish it?", 432 // 18),
    ("savings", "Mia saves 45 dollars every week for 26 weeks, then spends 380 dollars. How "
     "many dollars are left?", 45 * 26 - 380),
    ("rectangle", "A rectangle is 23 m long and 17 m wide. What is its area in square metres?",
     23 * 17),
    ("perimeter", "What is the perimeter in metres of a rectangle 23 m long and 17 m wide?",
     2 * (23 + 17)),
    ("tickets", "Adult tickets cost 12 dollars and child tickets 7 dollars. A group buys 14 "
     "adult and 23 child tickets. What is the total cost in dollars?", 14 * 12 + 23 * 7),
    ("discount", "A coat costs 240 dollars and is sold at 35% off. What is the sale price in "
     "dollars?", 240 * 0.65),
    ("interest", "1000 dollars earn 5% interest compounded yearly. How many dollars are there "
     "after 3 years? Round to 2 decimals.", round(1000 * 1.05 ** 3, 2)),
    ("average", "The scores are 78, 85, 92, 64 and 91. What is their average?",
     (78 + 85 + 92 + 64 + 91) / 5),
    ("primes_below_100", "How many prime numbers are there below 100?",
     sum(all(n % d for d in range(2, n)) for n in range(2, 100))),
    ("sum_1_to_1000", "What is the sum of the integers from 1 to 1000?", sum(range(1, 1001))),
    ("sum_squares", "What is the sum of the squares of the integers from 1 to 50?",
     sum(i * i for i in range(1, 51))),
    ("factorial_digits", "How many digits does 50! (50 factorial) have?",
     len(str(math.factorial(50)))),
    ("fib_30", "With F(1) = F(2) = 1 and F(n) = F(n-1) + F(n-2), what is F(30)?", 832040),
    ("multiples_3_5", "What is the sum of all natural numbers below 1000 that are multiples "
     "of 3 or 5?", sum(n for n in range(1000) if n % 3 == 0 or n % 5 == 0)),
    ("gcd", "What is the greatest common divisor of 1071 and 462?", math.gcd(1071, 462)),
    ("lcm", "What is the least common multiple of 12, 18 and 30?", math.lcm(12, 18, 30)),
    ("power_mod", "What is 7 to the power 222, modulo 1000?", pow(7, 222, 1000)),
    ("digit_sum", "What is the sum of the digits of 2 to the power 100?",
     sum(int(c) for c in str(2 ** 100))),
    ("minutes", "How many minutes are there in 3 weeks?", 3 * 7 * 24 * 60),
    ("seconds_day", "How many seconds are there in 2.5 days?", 2.5 * 24 * 3600),
    ("speed", "A cyclist covers 57 km in 2 hours 30 minutes. What is her average speed in "
     "km/h?", 57 / 2.5),
    ("workers", "5 workers build a wall in 12 days. How many days do 15 workers need at the "
     "same rate?", 5 * 12 / 15),
    ("pool", "A pool holds 54000 litres and fills at 150 litres per minute. How many hours "
     "does it take to fill?", 54000 / 150 / 60),
    ("eggs", "Eggs come in boxes of 6. How many boxes are needed for 250 eggs?",
     math.ceil(250 / 6)),
    ("leftover", "250 sweets are shared equally among 12 children. How many sweets are left "
     "over?", 250 % 12),
    ("ages", "Sam is 3 times as old as Lia. In 10 years Sam will be twice as old as Lia. How "
     "old is Lia now?", 10),
    ("consecutive", "Three consecutive integers sum to 147. What is the largest of them?", 50),
    ("triangle_area", "A triangle has a base of 14 cm and a height of 9 cm. What is its area "
     "in square cm?", 14 * 9 / 2),
    ("hypotenuse", "A right triangle has legs of 20 and 21. How long is the hypotenuse?",
     math.hypot(20, 21)),
    ("circle", "What is the area of a circle of radius 10, rounded to 2 decimals?",
     round(math.pi * 100, 2)),
    ("cube", "A cube has an edge of 7 cm. What is its volume in cubic cm?", 7 ** 3),
    ("collatz", "Starting from 27, how many steps of the Collatz rule (n/2 if even, 3n+1 if "
     "odd) does it take to reach 1?", 111),
    ("divisors", "How many positive divisors does 360 have?",
     sum(1 for d in range(1, 361) if 360 % d == 0)),
    ("perfect", "What is the sum of all perfect numbers below 10000?", 6 + 28 + 496 + 8128),
    ("palindromes", "How many integers from 1 to 9999 are palindromes (read the same both "
     "ways)?", sum(str(n) == str(n)[::-1] for n in range(1, 10000))),
    ("binary_ones", "How many 1 bits are in the binary form of 1000000?", bin(1000000).count("1")),
    ("leap_years", "How many leap years are there from 1900 to 2100 inclusive?",
     sum(1 for y in range(1900, 2101) if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))),
    ("weekday_count", "January 1 is a Monday in a non-leap year. How many Mondays does that "
     "year have?", 53),
    ("fuel", "A car uses 6.5 litres per 100 km. How many litres does it need for 340 km?",
     6.5 * 3.4),
    ("wage", "Lee earns 18 dollars an hour and 1.5 times that for every hour over 40 in a "
     "week. How many dollars does he earn for 46 hours?", 40 * 18 + 6 * 27),
    ("mixture", "How many litres of water must be added to 12 litres of 30% juice to make "
     "it 20% juice?", 6),
    ("shares", "A prize of 8400 dollars is split in the ratio 3:4:5. How many dollars is the "
     "largest share?", 8400 * 5 / 12),
    ("percent_change", "A price rises from 80 to 92 dollars. By what percent did it rise?",
     (92 - 80) / 80 * 100),
    ("handshakes", "25 people each shake hands once with every other. How many handshakes?",
     25 * 24 // 2),
    ("paths", "How many shortest paths along grid lines lead from one corner of a 6 by 6 "
     "grid of squares to the opposite corner?", math.comb(12, 6)),
    ("committees", "How many ways can a committee of 4 be chosen from 10 people?",
     math.comb(10, 4)),
    ("arrangements", "How many distinct arrangements of the letters of BANANA are there?",
     math.factorial(6) // (math.factorial(3) * math.factorial(2))),
    ("dice", "Two fair dice are rolled. In how many of the 36 outcomes is the sum 7 or 11?",
     sum(1 for a in range(1, 7) for b in range(1, 7) if a + b in (7, 11))),
    ("sqrt_floor", "What is the largest integer whose square is at most 123456789?",
     math.isqrt(123456789)),
    ("triangular", "What is the smallest triangular number (1, 3, 6, 10, ...) above 10000?",
     next(n * (n + 1) // 2 for n in range(1, 1000) if n * (n + 1) // 2 > 10000)),
    ("stairs", "In how many ways can you climb 20 stairs taking 1 or 2 steps at a time?",
     10946),
]


def _number(value: float) -> int | float:
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def main() -> None:
    """Check the ids, compute each answer, write the JSONL."""
    ids = [p[0] for p in PROBLEMS]
    assert len(ids) == len(set(ids)), "ids repeat"
    lines = []
    for index, (name, question, answer) in enumerate(PROBLEMS):
        record = {"id": f"math/{name}", "instruction": question,
                  "gold_calls": [{"name": "submit_answer",
                                  "arguments": {"answer": _number(answer)}}],
                  "split": "test" if index % 3 == 2 else "train"}
        lines.append(json.dumps(record))
    (DATA / "word_problems.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} problems")


if __name__ == "__main__":
    main()
