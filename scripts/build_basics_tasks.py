"""Build sandgym/envs/tasks/builtin_basics.jsonl, the task set of sandgym/PythonBasics-v0.

Every task is written here (nothing is copied from a dataset): a signature, a one-line
description, one or two docstring examples whose expected values are written by hand,
hidden inputs, and a reference body. The script

* checks the reference against the handwritten examples (a second, independent guard);
* computes the expected value of every hidden input from the reference;
* checks that a stub returning None fails at least one hidden test;
* assigns the split by a fixed rule: within each difficulty, in file order, every third
  task (positions 2, 5, 8, ...) is ``test``, the others ``train``; so both splits hold
  the same difficulty mix, and the split never depends on a random draw.

Run it after editing a task (``python scripts/build_basics_tasks.py``); the output is
deterministic. The sandboxed check of every task is tests/envs/test_basics.py.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "sandgym/envs/tasks/builtin_basics.jsonl"
LEVELS = ("trivial", "easy", "moderate")
TASKS: list[dict] = []


def T(name: str, params: str, ret: str, doc: str, ex: list[tuple[str, str]],
      hidden: list[str], body: str, tag: str) -> None:
    """Declare a task; its difficulty is the current section's (`level`)."""
    TASKS.append({"name": name, "params": params, "ret": ret, "doc": doc, "ex": ex,
                  "hidden": hidden, "body": body, "tag": tag, "level": LEVEL})


# ----------------------------------------------------------------------------- trivial
LEVEL = "trivial"
T("add", "a: int, b: int", "int", "Return the sum of a and b.",
  [("1, 2", "3")], ["-5, 5", "0, 0", "10**20, 1", "-7, -8"], "return a + b", "arithmetic")
T("subtract", "a: int, b: int", "int", "Return a minus b.",
  [("5, 3", "2")], ["3, 5", "0, 0", "-4, -4", "100, -1"], "return a - b", "arithmetic")
T("multiply", "a: int, b: int", "int", "Return the product of a and b.",
  [("3, 4", "12")], ["0, 99", "-2, 6", "-3, -3", "10**10, 10**10"], "return a * b",
  "arithmetic")
T("square", "n: int", "int", "Return n squared (n times n).",
  [("4", "16")], ["0", "-3", "1", "12345"], "return n * n", "arithmetic")
T("cube", "n: int", "int", "Return n cubed (n to the power of 3).",
  [("2", "8")], ["0", "-3", "1", "10"], "return n ** 3", "arithmetic")
T("double", "n: int", "int", "Return twice the number n.",
  [("7", "14")], ["0", "-5", "1", "10**18"], "return 2 * n", "arithmetic")
T("half_floor", "n: int", "int",
  "Return n divided by 2, rounded down (integer division).",
  [("7", "3"), ("10", "5")], ["0", "1", "-3", "1001"], "return n // 2", "arithmetic")
T("is_even", "n: int", "bool", "Return True if n is even, otherwise False.",
  [("4", "True"), ("7", "False")], ["0", "-2", "-3", "1", "10**12 + 1"],
  "return n % 2 == 0", "arithmetic")
T("is_odd", "n: int", "bool", "Return True if n is odd, otherwise False.",
  [("3", "True"), ("8", "False")], ["0", "-1", "-4", "99"], "return n % 2 == 1",
  "arithmetic")
T("absolute", "n: int", "int", "Return the absolute value of n.",
  [("-5", "5")], ["5", "0", "-1", "-10**9"], "return abs(n)", "arithmetic")
T("max_of_two", "a: int, b: int", "int", "Return the larger of a and b.",
  [("3, 9", "9")], ["9, 3", "4, 4", "-1, -2", "0, -100"], "return max(a, b)", "arithmetic")
T("min_of_two", "a: int, b: int", "int", "Return the smaller of a and b.",
  [("3, 9", "3")], ["9, 3", "4, 4", "-1, -2", "0, 100"], "return min(a, b)", "arithmetic")
T("max_of_three", "a: int, b: int, c: int", "int", "Return the largest of a, b and c.",
  [("1, 5, 3", "5")], ["9, 2, 3", "1, 2, 30", "-1, -2, -3", "7, 7, 7"],
  "return max(a, b, c)", "arithmetic")
T("average_of_two", "a: int, b: int", "float", "Return the average of a and b as a float.",
  [("2, 3", "2.5")], ["4, 4", "-1, 1", "0, 7", "100, 51"], "return (a + b) / 2",
  "arithmetic")
T("remainder", "a: int, b: int", "int", "Return the remainder of a divided by b.",
  [("10, 3", "1")], ["9, 3", "2, 5", "0, 7", "100, 7"], "return a % b", "arithmetic")
T("is_positive", "n: int", "bool", "Return True if n is greater than zero.",
  [("3", "True"), ("-2", "False")], ["0", "1", "-1", "10**6"], "return n > 0",
  "arithmetic")
T("is_divisible", "a: int, b: int", "bool",
  "Return True if a is divisible by b (b is never zero).",
  [("10, 5", "True"), ("10, 3", "False")], ["0, 4", "7, 7", "-9, 3", "14, 4"],
  "return a % b == 0", "arithmetic")
T("last_digit", "n: int", "int", "Return the last digit of n (ignore the sign).",
  [("123", "3"), ("-47", "7")], ["0", "10", "9", "-100005"], "return abs(n) % 10",
  "arithmetic")
T("celsius_to_fahrenheit", "c: float", "float",
  "Convert a temperature from Celsius to Fahrenheit: c * 9 / 5 + 32.",
  [("100", "212.0")], ["0", "-40", "37", "25"], "return c * 9 / 5 + 32", "arithmetic")
T("rectangle_area", "width: int, height: int", "int",
  "Return the area of a rectangle with the given width and height.",
  [("3, 4", "12")], ["0, 5", "1, 1", "10, 10", "7, 13"], "return width * height",
  "arithmetic")
T("square_perimeter", "side: int", "int", "Return the perimeter of a square with this side.",
  [("5", "20")], ["0", "1", "13", "250"], "return 4 * side", "arithmetic")
T("negate", "n: int", "int", "Return n with its sign flipped.",
  [("5", "-5")], ["-5", "0", "1", "-10**15"], "return -n", "arithmetic")
T("hours_to_minutes", "hours: int", "int", "Return how many minutes are in this many hours.",
  [("2", "120")], ["0", "1", "24", "1000"], "return hours * 60", "arithmetic")

T("to_upper", "s: str", "str", "Return s with every letter in upper case.",
  [("'hello'", "'HELLO'")], ["''", "'Hello World'", "'abc123'", "'ALREADY'"],
  "return s.upper()", "strings")
T("to_lower", "s: str", "str", "Return s with every letter in lower case.",
  [("'HeLLo'", "'hello'")], ["''", "'ABC 123'", "'lower'", "'MiXeD CaSe!'"],
  "return s.lower()", "strings")
T("string_length", "s: str", "int", "Return the number of characters in s.",
  [("'hello'", "5")], ["''", "'a'", "'hello world'", "'x' * 100"], "return len(s)",
  "strings")
T("first_char", "s: str", "str",
  "Return the first character of s, or an empty string if s is empty.",
  [("'python'", "'p'")], ["''", "'a'", "' x'", "'Zebra'"], "return s[:1]", "strings")
T("last_char", "s: str", "str",
  "Return the last character of s, or an empty string if s is empty.",
  [("'python'", "'n'")], ["''", "'a'", "'x '", "'Zebra'"], "return s[-1:]", "strings")
T("reverse_string", "s: str", "str", "Return s reversed.",
  [("'abc'", "'cba'")], ["''", "'a'", "'racecar'", "'Hello, World'"], "return s[::-1]",
  "strings")
T("concat", "a: str, b: str", "str", "Return the string a followed by the string b.",
  [("'foo', 'bar'", "'foobar'")], ["'', ''", "'a', ''", "'', 'b'", "'x y', ' z'"],
  "return a + b", "strings")
T("repeat_string", "s: str, n: int", "str", "Return s repeated n times.",
  [("'ab', 3", "'ababab'")], ["'x', 0", "'', 5", "'hi', 1", "'-', 10"], "return s * n",
  "strings")
T("starts_with", "s: str, prefix: str", "bool", "Return True if s starts with prefix.",
  [("'hello', 'he'", "True"), ("'hello', 'lo'", "False")],
  ["'', ''", "'abc', ''", "'a', 'abc'", "'Hello', 'h'"], "return s.startswith(prefix)",
  "strings")
T("ends_with", "s: str, suffix: str", "bool", "Return True if s ends with suffix.",
  [("'hello', 'lo'", "True"), ("'hello', 'he'", "False")],
  ["'', ''", "'abc', 'abc'", "'c', 'abc'", "'file.PY', '.py'"], "return s.endswith(suffix)",
  "strings")
T("contains_substring", "s: str, sub: str", "bool", "Return True if sub occurs in s.",
  [("'banana', 'nan'", "True"), ("'banana', 'xyz'", "False")],
  ["'abc', ''", "'', 'a'", "'Apple', 'apple'", "'aaa', 'aa'"], "return sub in s", "strings")
T("strip_spaces", "s: str", "str", "Return s without spaces at the start and the end.",
  [("'  hi  '", "'hi'")], ["''", "'   '", "'a b'", "' x y z '"], "return s.strip()",
  "strings")
T("greet", "name: str", "str", "Return the greeting 'Hello, NAME!' for the given name.",
  [("'Ann'", "'Hello, Ann!'")], ["'Bob'", "''", "'World'", "'Mary Jane'"],
  "return 'Hello, ' + name + '!'", "strings")
T("is_empty_string", "s: str", "bool", "Return True if s is the empty string.",
  [("''", "True"), ("'a'", "False")], ["' '", "'0'", "'abc'"], "return s == ''", "strings")
T("count_char", "s: str, c: str", "int",
  "Return how many times the character c appears in s.",
  [("'banana', 'a'", "3")], ["'', 'a'", "'banana', 'z'", "'AaAa', 'a'", "'xxxx', 'x'"],
  "return s.count(c)", "strings")
T("replace_spaces", "s: str", "str", "Return s with every space replaced by an underscore.",
  [("'a b c'", "'a_b_c'")], ["''", "'nospace'", "'  '", "'hello world '"],
  "return s.replace(' ', '_')", "strings")
T("capitalize_first", "s: str", "str",
  "Return s with its first character in upper case and the rest unchanged.",
  [("'hello World'", "'Hello World'")], ["''", "'a'", "'ABC'", "'1abc'", "'zebra'"],
  "return s[:1].upper() + s[1:]", "strings")
T("word_count", "s: str", "int",
  "Return the number of words in s (words are separated by whitespace).",
  [("'the quick brown fox'", "4")], ["''", "'   '", "'one'", "'  a  b   c '"],
  "return len(s.split())", "strings")
T("is_digit_string", "s: str", "bool",
  "Return True if s is not empty and every character of s is a digit 0-9.",
  [("'123'", "True"), ("'12a'", "False")], ["''", "'0'", "'1 2'", "'-5'"],
  "return s.isdigit()", "strings")

T("list_sum", "nums: list[int]", "int", "Return the sum of the numbers in nums.",
  [("[1, 2, 3]", "6")], ["[]", "[-1, 1]", "[5]", "[10, -20, 30, 40]"], "return sum(nums)",
  "lists")
T("list_length", "items: list", "int", "Return the number of items in the list.",
  [("[4, 5, 6]", "3")], ["[]", "[[]]", "['a', 'b']", "list(range(50))"], "return len(items)",
  "lists")
T("first_element", "items: list", "object",
  "Return the first item of the list, or None if the list is empty.",
  [("[7, 8, 9]", "7")], ["[]", "['a']", "[0, 1]", "[[1], [2]]"],
  "return items[0] if items else None", "lists")
T("last_element", "items: list", "object",
  "Return the last item of the list, or None if the list is empty.",
  [("[7, 8, 9]", "9")], ["[]", "['a']", "[0, 1]", "[[1], [2]]"],
  "return items[-1] if items else None", "lists")
T("list_max", "nums: list[int]", "int", "Return the largest number in a non-empty list.",
  [("[3, 9, 2]", "9")], ["[5]", "[-3, -1, -7]", "[2, 2, 2]", "[0, 100, 99]"],
  "return max(nums)", "lists")
T("list_min", "nums: list[int]", "int", "Return the smallest number in a non-empty list.",
  [("[3, 9, 2]", "2")], ["[5]", "[-3, -1, -7]", "[2, 2, 2]", "[0, 100, 99]"],
  "return min(nums)", "lists")
T("reverse_list", "items: list", "list", "Return a new list with the items in reverse order.",
  [("[1, 2, 3]", "[3, 2, 1]")], ["[]", "[1]", "['a', 'b']", "[1, 1, 2]"],
  "return items[::-1]", "lists")
T("sort_list", "nums: list[int]", "list[int]",
  "Return a new list with the numbers sorted from smallest to largest.",
  [("[3, 1, 2]", "[1, 2, 3]")], ["[]", "[1]", "[5, -1, 5, 0]", "[9, 8, 7, 6]"],
  "return sorted(nums)", "lists")
T("contains", "items: list, x: object", "bool", "Return True if x is in the list.",
  [("[1, 2, 3], 2", "True"), ("[1, 2, 3], 5", "False")],
  ["[], 1", "['a'], 'a'", "[0], 1", "[[1]], [1]"], "return x in items", "lists")
T("count_occurrences", "items: list, x: object", "int",
  "Return how many times x appears in the list.",
  [("[1, 2, 1, 1], 1", "3")], ["[], 1", "[2, 3], 1", "['a', 'a'], 'a'", "[0, 0, 0, 1], 0"],
  "return items.count(x)", "lists")
T("append_item", "items: list, x: object", "list",
  "Return a new list: the items followed by x.",
  [("[1, 2], 3", "[1, 2, 3]")], ["[], 1", "['a'], 'b'", "[1], [2]", "[0, 0], 0"],
  "return items + [x]", "lists")
T("double_all", "nums: list[int]", "list[int]",
  "Return a new list with every number doubled.",
  [("[1, 2, 3]", "[2, 4, 6]")], ["[]", "[0]", "[-1, 5]", "[100, 200, 300, 400]"],
  "return [2 * n for n in nums]", "lists")
T("list_product", "nums: list[int]", "int",
  "Return the product of the numbers in nums (1 for an empty list).",
  [("[2, 3, 4]", "24")], ["[]", "[5]", "[1, 0, 7]", "[-2, 3]", "[-1, -1, -1]"],
  "result = 1\nfor n in nums:\n    result *= n\nreturn result", "lists")
T("is_empty_list", "items: list", "bool", "Return True if the list has no items.",
  [("[]", "True"), ("[1]", "False")], ["[0]", "[[]]", "['']"], "return len(items) == 0",
  "lists")
T("first_n", "items: list, n: int", "list",
  "Return the first n items of the list (all of them if the list is shorter).",
  [("[1, 2, 3, 4], 2", "[1, 2]")], ["[], 3", "[1, 2], 5", "[1, 2, 3], 0", "['a', 'b'], 1"],
  "return items[:n]", "lists")
T("sum_of_squares", "nums: list[int]", "int",
  "Return the sum of the squares of the numbers in nums.",
  [("[1, 2, 3]", "14")], ["[]", "[0]", "[-2]", "[10, -10, 1]"],
  "return sum(n * n for n in nums)", "lists")

T("get_value", "d: dict, key: str", "object",
  "Return the value stored under key in d, or None if key is not in d.",
  [("{'a': 1, 'b': 2}, 'b'", "2")], ["{}, 'a'", "{'a': 1}, 'b'", "{'x': [1, 2]}, 'x'",
                                     "{'a': 0}, 'a'"], "return d.get(key)", "dicts")
T("has_key", "d: dict, key: str", "bool", "Return True if key is a key of the dictionary d.",
  [("{'a': 1}, 'a'", "True"), ("{'a': 1}, 'b'", "False")],
  ["{}, 'a'", "{'a': None}, 'a'", "{'ab': 1}, 'a'"], "return key in d", "dicts")
T("dict_size", "d: dict", "int", "Return the number of keys in the dictionary d.",
  [("{'a': 1, 'b': 2}", "2")], ["{}", "{'x': 0}", "{1: 1, 2: 2, 3: 3}"], "return len(d)",
  "dicts")
T("sorted_keys", "d: dict", "list",
  "Return the keys of the dictionary d as a sorted list.",
  [("{'b': 1, 'a': 2}", "['a', 'b']")], ["{}", "{'z': 0}", "{'c': 1, 'a': 1, 'b': 1}",
                                         "{3: 'x', 1: 'y'}"], "return sorted(d)", "dicts")
T("sum_values", "d: dict[str, int]", "int",
  "Return the sum of all the values in the dictionary d.",
  [("{'a': 1, 'b': 2}", "3")], ["{}", "{'x': -5}", "{'a': 10, 'b': -10, 'c': 7}"],
  "return sum(d.values())", "dicts")
T("make_pair_dict", "key: str, value: int", "dict",
  "Return a dictionary with the single entry key -> value.",
  [("'a', 1", "{'a': 1}")], ["'', 0", "'x', -3", "'name', 42"], "return {key: value}",
  "dicts")
T("get_or_default", "d: dict, key: str, default: object", "object",
  "Return d[key] if key is in d, otherwise return default.",
  [("{'a': 1}, 'a', 0", "1"), ("{'a': 1}, 'b', 0", "0")],
  ["{}, 'x', 'none'", "{'x': None}, 'x', 5", "{'k': [1]}, 'k', []"],
  "return d[key] if key in d else default", "dicts")

T("sum_to_n", "n: int", "int", "Return the sum of all integers from 1 to n (0 if n < 1).",
  [("4", "10")], ["0", "1", "-3", "100"], "return sum(range(1, n + 1))", "loops")
T("factorial", "n: int", "int", "Return n! (the product 1 * 2 * ... * n); 0! is 1.",
  [("5", "120")], ["0", "1", "3", "20"],
  "result = 1\nfor i in range(2, n + 1):\n    result *= i\nreturn result", "loops")
T("count_down", "n: int", "list[int]",
  "Return the list [n, n-1, ..., 1] (empty if n < 1).",
  [("3", "[3, 2, 1]")], ["0", "1", "5", "-2"], "return list(range(n, 0, -1))", "loops")
T("range_list", "n: int", "list[int]", "Return the list [0, 1, ..., n-1].",
  [("4", "[0, 1, 2, 3]")], ["0", "1", "7", "-1"], "return list(range(n))", "loops")
T("power", "base: int, exp: int", "int", "Return base raised to the power exp (exp >= 0).",
  [("2, 10", "1024")], ["5, 0", "0, 3", "-2, 3", "10, 20"], "return base ** exp", "loops")

# ----------------------------------------------------------------------------- easy
LEVEL = "easy"
T("sign", "n: int", "int", "Return 1 if n is positive, -1 if n is negative, and 0 if n is 0.",
  [("5", "1"), ("-2", "-1")], ["0", "1", "-1", "10**9", "-10**9"],
  "if n > 0:\n    return 1\nif n < 0:\n    return -1\nreturn 0", "arithmetic")
T("clamp", "x: int, lo: int, hi: int", "int",
  "Return x limited to the range [lo, hi]: lo if x < lo, hi if x > hi, else x.",
  [("5, 0, 10", "5"), ("-3, 0, 10", "0")], ["15, 0, 10", "0, 0, 10", "10, 0, 10",
                                            "7, 7, 7", "-5, -10, -6"],
  "return max(lo, min(x, hi))", "arithmetic")
T("is_leap_year", "year: int", "bool",
  "Return True for a leap year: divisible by 4, except years divisible by 100 that are "
  "not divisible by 400.",
  [("2024", "True"), ("1900", "False")], ["2000", "2023", "2100", "1600", "4"],
  "return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)", "arithmetic")
T("digit_sum", "n: int", "int", "Return the sum of the decimal digits of n (ignore the sign).",
  [("123", "6"), ("-45", "9")], ["0", "7", "1000", "99999"],
  "return sum(int(d) for d in str(abs(n)))", "arithmetic")
T("count_digits", "n: int", "int",
  "Return how many decimal digits n has (ignore the sign; 0 has one digit).",
  [("12345", "5"), ("0", "1")], ["-7", "10", "-1000", "10**20"], "return len(str(abs(n)))",
  "arithmetic")
T("gcd", "a: int, b: int", "int",
  "Return the greatest common divisor of two positive integers a and b.",
  [("12, 18", "6")], ["7, 13", "5, 5", "100, 10", "1, 99", "48, 36"],
  "while b:\n    a, b = b, a % b\nreturn a", "arithmetic")
T("lcm", "a: int, b: int", "int",
  "Return the least common multiple of two positive integers a and b.",
  [("4, 6", "12")], ["1, 1", "5, 7", "10, 5", "12, 18", "9, 9"],
  "x, y = a, b\nwhile y:\n    x, y = y, x % y\nreturn a * b // x", "arithmetic")
T("is_prime", "n: int", "bool", "Return True if n is a prime number.",
  [("7", "True"), ("8", "False")], ["0", "1", "2", "9", "97", "-7", "7919"],
  "if n < 2:\n    return False\ni = 2\nwhile i * i <= n:\n    if n % i == 0:\n"
  "        return False\n    i += 1\nreturn True", "arithmetic")
T("fizzbuzz_word", "n: int", "str",
  "Return 'FizzBuzz' if n is divisible by 3 and 5, 'Fizz' if only by 3, 'Buzz' if only "
  "by 5, otherwise str(n).",
  [("9", "'Fizz'"), ("7", "'7'")], ["15", "10", "1", "30", "0", "98"],
  "if n % 15 == 0:\n    return 'FizzBuzz'\nif n % 3 == 0:\n    return 'Fizz'\n"
  "if n % 5 == 0:\n    return 'Buzz'\nreturn str(n)", "arithmetic")
T("average", "nums: list[int]", "float",
  "Return the average of the numbers as a float, or 0.0 if the list is empty.",
  [("[1, 2, 3, 4]", "2.5")], ["[]", "[5]", "[-1, 1]", "[10, 20, 30]"],
  "return sum(nums) / len(nums) if nums else 0.0", "arithmetic")
T("split_seconds", "seconds: int", "tuple",
  "Return the tuple (minutes, seconds) for a number of seconds >= 0.",
  [("125", "(2, 5)")], ["0", "59", "60", "3600"], "return (seconds // 60, seconds % 60)",
  "arithmetic")
T("is_perfect_square", "n: int", "bool",
  "Return True if n is the square of an integer (negative numbers are not).",
  [("16", "True"), ("15", "False")], ["0", "1", "2", "-4", "10**10", "99"],
  "if n < 0:\n    return False\nr = int(n ** 0.5)\n"
  "return any((r + d) ** 2 == n for d in (-1, 0, 1))", "arithmetic")
T("distance", "a: int, b: int", "int", "Return the distance between a and b on the number line.",
  [("3, 8", "5")], ["8, 3", "-2, 2", "5, 5", "-10, -4"], "return abs(a - b)", "arithmetic")
T("hypotenuse", "a: float, b: float", "float",
  "Return the length of the hypotenuse of a right triangle with legs a and b.",
  [("3, 4", "5.0")], ["5, 12", "0, 0", "1, 1", "8, 15"], "return (a * a + b * b) ** 0.5",
  "arithmetic")
T("collatz_next", "n: int", "int",
  "Return the next Collatz number: n // 2 if n is even, else 3 * n + 1.",
  [("6", "3"), ("5", "16")], ["1", "2", "27", "100"],
  "return n // 2 if n % 2 == 0 else 3 * n + 1", "arithmetic")

T("is_palindrome", "s: str", "bool",
  "Return True if s reads the same forwards and backwards (case matters).",
  [("'level'", "True"), ("'hello'", "False")], ["''", "'a'", "'ab'", "'Aa'", "'abba'"],
  "return s == s[::-1]", "strings")
T("count_vowels", "s: str", "int",
  "Return how many vowels (a, e, i, o, u, upper or lower case) are in s.",
  [("'hello'", "2")], ["''", "'xyz'", "'AEIOU'", "'Programming Is Fun'"],
  "return sum(1 for ch in s if ch in 'aeiouAEIOU')", "strings")
T("remove_vowels", "s: str", "str",
  "Return s without its vowels (a, e, i, o, u, upper or lower case).",
  [("'hello world'", "'hll wrld'")], ["''", "'aeiou'", "'AbEcI'", "'rhythm'"],
  "return ''.join(ch for ch in s if ch not in 'aeiouAEIOU')", "strings")
T("reverse_words", "s: str", "str",
  "Return the words of s in reverse order, joined by single spaces.",
  [("'one two three'", "'three two one'")], ["''", "'word'", "'  a  b '", "'x y'"],
  "return ' '.join(reversed(s.split()))", "strings")
T("longest_word", "s: str", "str",
  "Return the longest word in s (the first one if there is a tie; '' if there are no "
  "words).",
  [("'a quick brown fox'", "'quick'")], ["''", "'hi'", "'ab cd'", "'one three four'"],
  "best = ''\nfor word in s.split():\n    if len(word) > len(best):\n        best = word\n"
  "return best", "strings")
T("initials", "name: str", "str",
  "Return the upper-case first letters of each word of the name.",
  [("'ada lovelace'", "'AL'")], ["'Grace Brewster Hopper'", "''", "'x'", "'  john   doe '"],
  "return ''.join(w[0].upper() for w in name.split())", "strings")
T("title_case", "s: str", "str",
  "Return s with the first letter of every word in upper case and the other letters in "
  "lower case; words are separated by single spaces.",
  [("'hello wORLD'", "'Hello World'")], ["''", "'a'", "'the cat sat'", "'PYTHON'"],
  "return ' '.join(w.capitalize() for w in s.split(' '))", "strings")
T("count_uppercase", "s: str", "int", "Return how many upper-case letters are in s.",
  [("'Hello World'", "2")], ["''", "'abc'", "'ABC'", "'a1B2c3D!'"],
  "return sum(1 for ch in s if ch.isupper())", "strings")
T("only_digits", "s: str", "str", "Return the digits of s, in order, as a string.",
  [("'a1b2c3'", "'123'")], ["''", "'abc'", "'2024-01-05'", "'007'"],
  "return ''.join(ch for ch in s if ch.isdigit())", "strings")
T("swap_case", "s: str", "str",
  "Return s with upper-case letters made lower case and lower-case letters made upper "
  "case.",
  [("'Hello'", "'hELLO'")], ["''", "'ABC def'", "'123'", "'mIxEd'"], "return s.swapcase()",
  "strings")
T("is_anagram", "a: str, b: str", "bool",
  "Return True if a and b contain exactly the same letters the same number of times.",
  [("'listen', 'silent'", "True"), ("'abc', 'abd'", "False")],
  ["'', ''", "'aab', 'abb'", "'abc', 'ab'", "'Dog', 'god'", "'night', 'thing'"],
  "return sorted(a) == sorted(b)", "strings")
T("remove_char", "s: str, c: str", "str", "Return s with every occurrence of character c removed.",
  [("'banana', 'a'", "'bnn'")], ["'', 'a'", "'aaa', 'a'", "'abc', 'z'", "'Aa', 'a'"],
  "return s.replace(c, '')", "strings")
T("middle_chars", "s: str", "str",
  "Return the middle character of s if its length is odd, the middle two characters if "
  "it is even ('' for an empty string).",
  [("'abc'", "'b'"), ("'abcd'", "'bc'")], ["''", "'a'", "'ab'", "'testing'", "'middle'"],
  "n = len(s)\nif n == 0:\n    return ''\nif n % 2:\n    return s[n // 2]\n"
  "return s[n // 2 - 1:n // 2 + 1]", "strings")
T("truncate", "s: str, n: int", "str",
  "Return s unchanged if it has at most n characters, otherwise its first n characters "
  "followed by '...'.",
  [("'hello world', 5", "'hello...'")], ["'hi', 5", "'hello', 5", "'', 0", "'abc', 0"],
  "return s if len(s) <= n else s[:n] + '...'", "strings")
T("zero_pad", "n: int, width: int", "str",
  "Return the non-negative integer n as a string padded on the left with zeros to at "
  "least width characters.",
  [("42, 5", "'00042'")], ["0, 3", "12345, 3", "7, 1", "7, 0", "99, 4"],
  "return str(n).zfill(width)", "strings")
T("acronym", "phrase: str", "str", "Return the upper-case first letter of every word of phrase.",
  [("'portable network graphics'", "'PNG'")], ["''", "'As Soon As Possible'", "'x'",
                                               "'  frequently asked  questions '"],
  "return ''.join(w[0] for w in phrase.split()).upper()", "strings")
T("double_chars", "s: str", "str", "Return s with every character repeated twice.",
  [("'abc'", "'aabbcc'")], ["''", "'a'", "'hi!'", "'  '"],
  "return ''.join(ch * 2 for ch in s)", "strings")
T("mask", "s: str", "str",
  "Return s with every character except the last four replaced by '#'.",
  [("'1234567890'", "'######7890'")], ["''", "'abc'", "'abcd'", "'abcde'"],
  "return '#' * max(len(s) - 4, 0) + s[-4:]", "strings")

T("evens", "nums: list[int]", "list[int]", "Return the even numbers of nums, in order.",
  [("[1, 2, 3, 4]", "[2, 4]")], ["[]", "[1, 3]", "[0, -2, -3]", "[6, 6, 7]"],
  "return [n for n in nums if n % 2 == 0]", "lists")
T("count_evens", "nums: list[int]", "int", "Return how many numbers in nums are even.",
  [("[1, 2, 3, 4]", "2")], ["[]", "[1, 3, 5]", "[0]", "[-2, -4, 7, 8]"],
  "return sum(1 for n in nums if n % 2 == 0)", "lists")
T("positives", "nums: list[int]", "list[int]",
  "Return the numbers of nums that are greater than zero, in order.",
  [("[-1, 2, 0, 3]", "[2, 3]")], ["[]", "[0, 0]", "[-5, -1]", "[1, -1, 1]"],
  "return [n for n in nums if n > 0]", "lists")
T("unique_sorted", "nums: list[int]", "list[int]",
  "Return the distinct numbers of nums, sorted from smallest to largest.",
  [("[3, 1, 3, 2, 1]", "[1, 2, 3]")], ["[]", "[5, 5, 5]", "[-1, 0, -1]", "[9, 8, 7]"],
  "return sorted(set(nums))", "lists")
T("remove_duplicates", "items: list", "list",
  "Return the items without repeats, keeping the first occurrence of each, in order.",
  [("[3, 1, 3, 2, 1]", "[3, 1, 2]")], ["[]", "['a', 'a']", "[1, 2, 3]", "['b', 'a', 'b', 'c']"],
  "seen = []\nfor x in items:\n    if x not in seen:\n        seen.append(x)\nreturn seen",
  "lists")
T("index_of", "items: list, x: object", "int",
  "Return the index of the first occurrence of x in the list, or -1 if it is absent.",
  [("['a', 'b', 'c'], 'b'", "1"), ("[1, 2], 5", "-1")], ["[], 1", "[7, 7], 7", "[0, 1, 2], 2"],
  "for i, item in enumerate(items):\n    if item == x:\n        return i\nreturn -1", "lists")
T("running_total", "nums: list[int]", "list[int]",
  "Return the running totals of nums: element i is the sum of nums[0..i].",
  [("[1, 2, 3, 4]", "[1, 3, 6, 10]")], ["[]", "[5]", "[1, -1, 1, -1]", "[0, 0, 3]"],
  "out = []\ntotal = 0\nfor n in nums:\n    total += n\n    out.append(total)\nreturn out",
  "lists")
T("pairwise_sum", "a: list[int], b: list[int]", "list[int]",
  "Return the element-wise sums of two lists of the same length.",
  [("[1, 2], [10, 20]", "[11, 22]")], ["[], []", "[0], [0]", "[-1, 5, 3], [1, -5, 4]"],
  "return [x + y for x, y in zip(a, b)]", "lists")
T("flatten", "lists: list[list]", "list",
  "Return one list holding the items of every inner list, in order.",
  [("[[1, 2], [3], []]", "[1, 2, 3]")], ["[]", "[[]]", "[['a'], ['b', 'c']]", "[[1], [[2]]]"],
  "return [x for inner in lists for x in inner]", "lists")
T("max_index", "nums: list[int]", "int",
  "Return the index of the largest number in a non-empty list (the first one if several "
  "are equal).",
  [("[3, 9, 2]", "1")], ["[5]", "[1, 5, 5]", "[-3, -1, -2]", "[7, 1, 7]"],
  "return nums.index(max(nums))", "lists")
T("rotate_left", "items: list, k: int", "list",
  "Return the list rotated left by k positions (k may be larger than the length).",
  [("[1, 2, 3, 4, 5], 2", "[3, 4, 5, 1, 2]")], ["[], 3", "[1, 2, 3], 0", "[1, 2, 3], 3",
                                                 "[1, 2, 3], 4", "['a', 'b'], 1"],
  "if not items:\n    return []\nk %= len(items)\nreturn items[k:] + items[:k]", "lists")
T("all_equal", "items: list", "bool",
  "Return True if every item of the list is equal to the others (True for an empty list).",
  [("[2, 2, 2]", "True"), ("[2, 3]", "False")], ["[]", "[1]", "['a', 'a', 'b']", "[0, 0]"],
  "return all(x == items[0] for x in items)", "lists")
T("is_sorted", "nums: list[int]", "bool",
  "Return True if nums is in non-decreasing order.",
  [("[1, 2, 2, 5]", "True"), ("[3, 1]", "False")], ["[]", "[1]", "[5, 4, 3]", "[1, 3, 2]"],
  "return all(nums[i] <= nums[i + 1] for i in range(len(nums) - 1))", "lists")
T("long_words", "words: list[str], n: int", "list[str]",
  "Return the words longer than n characters, in order.",
  [("['a', 'abc', 'abcd'], 2", "['abc', 'abcd']")], ["[], 1", "['hi'], 2", "['', 'x'], 0",
                                                     "['tree', 'a', 'forest'], 3"],
  "return [w for w in words if len(w) > n]", "lists")
T("word_lengths", "words: list[str]", "list[int]",
  "Return the length of each word, in order.",
  [("['hi', 'there']", "[2, 5]")], ["[]", "['']", "['a', 'bb', 'ccc']"],
  "return [len(w) for w in words]", "lists")
T("value_range", "nums: list[int]", "int",
  "Return the largest minus the smallest number of nums (0 for an empty list).",
  [("[3, 9, 2]", "7")], ["[]", "[5]", "[-5, 5]", "[4, 4, 4]"],
  "return max(nums) - min(nums) if nums else 0", "lists")
T("count_greater", "nums: list[int], t: int", "int",
  "Return how many numbers in nums are strictly greater than t.",
  [("[1, 5, 8, 3], 3", "2")], ["[], 0", "[3, 3], 3", "[-1, 0, 1], -1", "[10, 20], 5"],
  "return sum(1 for n in nums if n > t)", "lists")
T("scale_list", "nums: list[int], k: int", "list[int]",
  "Return a new list with every number multiplied by k.",
  [("[1, 2, 3], 3", "[3, 6, 9]")], ["[], 5", "[4], 0", "[-1, 2], -2"],
  "return [n * k for n in nums]", "lists")
T("last_n", "items: list, n: int", "list",
  "Return the last n items of the list (all of them if the list is shorter; [] if n is 0).",
  [("[1, 2, 3, 4], 2", "[3, 4]")], ["[1, 2, 3], 0", "[], 2", "[1], 5", "['a', 'b', 'c'], 1"],
  "return items[-n:] if n > 0 else []", "lists")
T("count_negatives", "nums: list[int]", "int", "Return how many numbers in nums are negative.",
  [("[-1, 2, -3]", "2")], ["[]", "[0]", "[1, 2]", "[-5, -5, -5, 0]"],
  "return sum(1 for n in nums if n < 0)", "lists")

T("char_frequency", "s: str", "dict[str, int]",
  "Return a dictionary mapping each character of s to how many times it appears.",
  [("'abca'", "{'a': 2, 'b': 1, 'c': 1}")], ["''", "'zzz'", "'a b'", "'AaA'"],
  "counts = {}\nfor ch in s:\n    counts[ch] = counts.get(ch, 0) + 1\nreturn counts", "dicts")
T("word_frequency", "text: str", "dict[str, int]",
  "Return a dictionary mapping each word of text (split on whitespace) to its count.",
  [("'a b a'", "{'a': 2, 'b': 1}")], ["''", "'hi'", "'the cat the hat the'", "'A a'"],
  "counts = {}\nfor w in text.split():\n    counts[w] = counts.get(w, 0) + 1\nreturn counts",
  "dicts")
T("invert_dict", "d: dict", "dict",
  "Return a new dictionary with keys and values swapped (the values of d are distinct).",
  [("{'a': 1, 'b': 2}", "{1: 'a', 2: 'b'}")], ["{}", "{'x': 'y'}", "{1: 10, 2: 20, 3: 30}"],
  "return {v: k for k, v in d.items()}", "dicts")
T("key_of_max", "d: dict[str, int]", "object",
  "Return the key with the largest value (the first such key in order if several tie), "
  "or None for an empty dictionary.",
  [("{'a': 3, 'b': 7, 'c': 5}", "'b'")], ["{}", "{'x': -1}", "{'p': 2, 'q': 2}",
                                          "{'a': -5, 'b': -3}"],
  "best = None\nfor k, v in d.items():\n    if best is None or v > d[best]:\n        best = k\n"
  "return best", "dicts")
T("merge_dicts", "a: dict, b: dict", "dict",
  "Return a new dictionary with the entries of a and b; b's value wins for a shared key.",
  [("{'x': 1}, {'y': 2}", "{'x': 1, 'y': 2}")], ["{}, {}", "{'a': 1}, {'a': 2}",
                                                 "{'a': 1, 'b': 2}, {}", "{}, {'z': 0}"],
  "out = dict(a)\nout.update(b)\nreturn out", "dicts")
T("filter_by_value", "d: dict[str, int], threshold: int", "dict[str, int]",
  "Return the entries of d whose value is greater than threshold.",
  [("{'a': 1, 'b': 5}, 2", "{'b': 5}")], ["{}, 0", "{'a': 2}, 2", "{'a': 3, 'b': 4}, 0",
                                          "{'x': -1, 'y': 0}, -1"],
  "return {k: v for k, v in d.items() if v > threshold}", "dicts")
T("lists_to_dict", "keys: list, values: list", "dict",
  "Return a dictionary mapping keys[i] to values[i] (the lists have the same length).",
  [("['a', 'b'], [1, 2]", "{'a': 1, 'b': 2}")], ["[], []", "['x'], [None]",
                                                 "[1, 2, 3], ['one', 'two', 'three']"],
  "return dict(zip(keys, values))", "dicts")
T("count_by_length", "words: list[str]", "dict[int, int]",
  "Return a dictionary mapping each word length to how many words have it.",
  [("['a', 'bb', 'cc', 'd']", "{1: 2, 2: 2}")], ["[]", "['']", "['abc']",
                                                  "['hi', 'yo', 'hey', 'a']"],
  "counts = {}\nfor w in words:\n    counts[len(w)] = counts.get(len(w), 0) + 1\n"
  "return counts", "dicts")
T("sum_for_keys", "d: dict[str, int], keys: list[str]", "int",
  "Return the sum of d[k] for each k in keys; a key missing from d counts as 0.",
  [("{'a': 1, 'b': 2}, ['a', 'b', 'c']", "3")], ["{}, ['a']", "{'a': 5}, []",
                                                 "{'a': 5}, ['a', 'a']",
                                                 "{'x': -2, 'y': 3}, ['y']"],
  "return sum(d.get(k, 0) for k in keys)", "dicts")
T("sorted_items", "d: dict", "list[tuple]",
  "Return the (key, value) pairs of d as a list of tuples sorted by key.",
  [("{'b': 2, 'a': 1}", "[('a', 1), ('b', 2)]")], ["{}", "{'z': 0}",
                                                   "{'c': 3, 'a': 1, 'b': 2}"],
  "return sorted(d.items())", "dicts")

T("sum_of_multiples", "n: int", "int",
  "Return the sum of all positive integers below n that are multiples of 3 or 5.",
  [("10", "23")], ["0", "1", "4", "16", "100"],
  "return sum(i for i in range(1, n) if i % 3 == 0 or i % 5 == 0)", "loops")
T("fibonacci", "n: int", "int",
  "Return the n-th Fibonacci number, where fibonacci(0) == 0 and fibonacci(1) == 1.",
  [("6", "8")], ["0", "1", "2", "10", "50"],
  "a, b = 0, 1\nfor _ in range(n):\n    a, b = b, a + b\nreturn a", "loops")
T("count_multiples", "n: int, k: int", "int",
  "Return how many of the numbers 1, 2, ..., n are divisible by k (k > 0).",
  [("10, 3", "3")], ["0, 1", "5, 5", "4, 5", "100, 7"],
  "return sum(1 for i in range(1, n + 1) if i % k == 0)", "loops")
T("times_table", "n: int", "list[int]", "Return [n*1, n*2, ..., n*10].",
  [("3", "[3, 6, 9, 12, 15, 18, 21, 24, 27, 30]")], ["0", "1", "-2", "11"],
  "return [n * i for i in range(1, 11)]", "loops")
T("sum_odds", "n: int", "int", "Return the sum of the odd numbers from 1 to n inclusive.",
  [("5", "9")], ["0", "1", "2", "10", "99"], "return sum(range(1, n + 1, 2))", "loops")
T("digits_list", "n: int", "list[int]",
  "Return the decimal digits of the non-negative integer n, most significant first.",
  [("123", "[1, 2, 3]")], ["0", "7", "1002", "98765"], "return [int(d) for d in str(n)]",
  "loops")
T("triangle_numbers", "n: int", "list[int]",
  "Return the first n triangle numbers: 1, 3, 6, 10, ... (the k-th is 1 + 2 + ... + k).",
  [("4", "[1, 3, 6, 10]")], ["0", "1", "7"],
  "return [k * (k + 1) // 2 for k in range(1, n + 1)]", "loops")
T("powers_of_two", "n: int", "list[int]", "Return the list [1, 2, 4, ..., 2**(n-1)] of n powers.",
  [("4", "[1, 2, 4, 8]")], ["0", "1", "11"], "return [2 ** i for i in range(n)]", "loops")
T("countdown_string", "n: int", "str",
  "Return the numbers n, n-1, ..., 1 joined by single spaces ('' if n < 1).",
  [("3", "'3 2 1'")], ["0", "1", "10", "-1"],
  "return ' '.join(str(i) for i in range(n, 0, -1))", "loops")
T("divisors", "n: int", "list[int]",
  "Return every positive divisor of n (n >= 1), in increasing order.",
  [("12", "[1, 2, 3, 4, 6, 12]")], ["1", "7", "16", "30"],
  "return [d for d in range(1, n + 1) if n % d == 0]", "loops")
T("digit_product", "n: int", "int",
  "Return the product of the decimal digits of the non-negative integer n.",
  [("234", "24")], ["0", "5", "101", "999"],
  "result = 1\nfor d in str(n):\n    result *= int(d)\nreturn result", "loops")

# ----------------------------------------------------------------------------- moderate
LEVEL = "moderate"
T("second_largest", "nums: list[int]", "object",
  "Return the second largest distinct number in nums, or None if there are fewer than two "
  "distinct numbers.",
  [("[4, 1, 7, 7, 3]", "4")], ["[]", "[5]", "[5, 5]", "[1, 2]", "[-3, -1, -2]"],
  "values = sorted(set(nums))\nreturn values[-2] if len(values) >= 2 else None", "lists")
T("chunk_list", "items: list, size: int", "list[list]",
  "Split the list into consecutive chunks of length size; the last chunk may be shorter.",
  [("[1, 2, 3, 4, 5], 2", "[[1, 2], [3, 4], [5]]")], ["[], 3", "[1, 2, 3], 3", "[1, 2, 3], 1",
                                                      "['a', 'b'], 5"],
  "return [items[i:i + size] for i in range(0, len(items), size)]", "lists")
T("merge_sorted", "a: list[int], b: list[int]", "list[int]",
  "Merge two lists that are each sorted in increasing order into one sorted list.",
  [("[1, 4, 6], [2, 3, 7]", "[1, 2, 3, 4, 6, 7]")], ["[], []", "[1], []", "[], [0, 0]",
                                                    "[1, 1, 5], [1, 2]", "[-3, 9], [-5, 10]"],
  "out = []\ni = j = 0\nwhile i < len(a) and j < len(b):\n    if a[i] <= b[j]:\n"
  "        out.append(a[i])\n        i += 1\n    else:\n        out.append(b[j])\n"
  "        j += 1\nreturn out + a[i:] + b[j:]", "lists")
T("interleave", "a: list, b: list", "list",
  "Return a[0], b[0], a[1], b[1], ...; when one list runs out, the rest of the other follows.",
  [("[1, 2, 3], ['a', 'b']", "[1, 'a', 2, 'b', 3]")], ["[], []", "[1], []", "[], [1, 2]",
                                                        "[1, 2], [3, 4, 5, 6]"],
  "out = []\nfor i in range(max(len(a), len(b))):\n    if i < len(a):\n        out.append(a[i])\n"
  "    if i < len(b):\n        out.append(b[i])\nreturn out", "lists")
T("run_length_encode", "s: str", "str",
  "Encode runs of repeated characters as the character followed by the run length.",
  [("'aaabcc'", "'a3b1c2'")], ["''", "'a'", "'abc'", "'zzzzzzzzzzzz'", "'aabaa'"],
  "out = ''\ni = 0\nwhile i < len(s):\n    j = i\n    while j < len(s) and s[j] == s[i]:\n"
  "        j += 1\n    out += s[i] + str(j - i)\n    i = j\nreturn out", "strings")
T("run_length_decode", "code: str", "str",
  "Decode a string of letters each followed by a one-digit count, e.g. 'a3b1' -> 'aaab'.",
  [("'a3b1c2'", "'aaabcc'")], ["''", "'x1'", "'z9'", "'a1b2a1'"],
  "return ''.join(code[i] * int(code[i + 1]) for i in range(0, len(code), 2))", "strings")
T("caesar_shift", "s: str, k: int", "str",
  "Shift every letter k places forward in the alphabet, wrapping around from z to a; keep "
  "the case of each letter and leave other characters unchanged.",
  [("'abc xyz', 2", "'cde zab'")], ["'', 3", "'Hello, World!', 1", "'abc', 26", "'ABC', 25"],
  "out = []\nfor ch in s:\n    if ch.islower():\n"
  "        out.append(chr((ord(ch) - 97 + k) % 26 + 97))\n    elif ch.isupper():\n"
  "        out.append(chr((ord(ch) - 65 + k) % 26 + 65))\n    else:\n        out.append(ch)\n"
  "return ''.join(out)", "strings")
T("is_pangram", "s: str", "bool",
  "Return True if s contains every letter of the English alphabet at least once (any case).",
  [("'The quick brown fox jumps over the lazy dog'", "True"), ("'hello'", "False")],
  ["''", "'abcdefghijklmnopqrstuvwxyz'", "'ABCDEFGHIJKLMNOPQRSTUVWXY'",
   "'Pack my box with five dozen liquor jugs'"],
  "return set('abcdefghijklmnopqrstuvwxyz') <= set(s.lower())", "strings")
T("most_common_char", "s: str", "str",
  "Return the character that appears most often in s (on a tie, the one that appears first "
  "in s; '' for an empty string).",
  [("'hello'", "'l'")], ["''", "'abc'", "'abab'", "'bbaa'", "'aabbbcc'"],
  "best = ''\nfor ch in s:\n    if best == '' or s.count(ch) > s.count(best):\n"
  "        best = ch\nreturn best", "strings")
T("count_overlapping", "s: str, sub: str", "int",
  "Return how many times the non-empty string sub occurs in s, counting overlapping "
  "occurrences.",
  [("'aaaa', 'aa'", "3")], ["'', 'a'", "'abc', 'd'", "'abababa', 'aba'", "'banana', 'na'"],
  "return sum(1 for i in range(len(s) - len(sub) + 1) if s[i:i + len(sub)] == sub)",
  "strings")
T("to_binary", "n: int", "str",
  "Return the binary representation of the non-negative integer n, without a prefix.",
  [("5", "'101'")], ["0", "1", "2", "255", "1024"], "return bin(n)[2:]", "arithmetic")
T("from_binary", "bits: str", "int",
  "Return the integer whose binary representation is the string bits.",
  [("'101'", "5")], ["'0'", "'1'", "'11111111'", "'10000000000'"], "return int(bits, 2)",
  "arithmetic")
T("balanced_parens", "s: str", "bool",
  "Return True if the parentheses '(' and ')' in s are balanced; other characters are "
  "ignored.",
  [("'(a(b)c)'", "True"), ("'())('", "False")], ["''", "'('", "')('", "'(()())'", "'x)'"],
  "depth = 0\nfor ch in s:\n    if ch == '(':\n        depth += 1\n    elif ch == ')':\n"
  "        depth -= 1\n        if depth < 0:\n            return False\nreturn depth == 0",
  "strings")
T("balanced_brackets", "s: str", "bool",
  "Return True if the brackets (), [] and {} in s are balanced and properly nested; other "
  "characters are ignored.",
  [("'{[()]}'", "True"), ("'([)]'", "False")], ["''", "'['", "'()[]{}'", "'{a[b]c}d'",
                                                "']'", "'(('"],
  "pairs = {')': '(', ']': '[', '}': '{'}\nstack = []\nfor ch in s:\n"
  "    if ch in '([{':\n        stack.append(ch)\n    elif ch in pairs:\n"
  "        if not stack or stack.pop() != pairs[ch]:\n            return False\n"
  "return not stack", "strings")
T("flatten_deep", "items: list", "list",
  "Return all non-list values of a list nested to any depth, in order.",
  [("[1, [2, [3, [4]]], 5]", "[1, 2, 3, 4, 5]")], ["[]", "[[[]]]", "[['a'], 'b']",
                                                   "[1, 2, 3]"],
  "out = []\nfor x in items:\n    if isinstance(x, list):\n        out.extend(flatten_deep(x))\n"
  "    else:\n        out.append(x)\nreturn out", "lists")
T("transpose", "matrix: list[list[int]]", "list[list[int]]",
  "Return the transpose of a rectangular matrix given as a list of rows.",
  [("[[1, 2, 3], [4, 5, 6]]", "[[1, 4], [2, 5], [3, 6]]")], ["[]", "[[1]]", "[[1, 2]]",
                                                             "[[1], [2], [3]]"],
  "return [list(col) for col in zip(*matrix)]", "lists")
T("diagonal_sum", "matrix: list[list[int]]", "int",
  "Return the sum of the main diagonal (top-left to bottom-right) of a square matrix.",
  [("[[1, 2], [3, 4]]", "5")], ["[]", "[[7]]", "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]",
                                "[[-1, 0], [0, -1]]"],
  "return sum(matrix[i][i] for i in range(len(matrix)))", "lists")
T("group_by_first_letter", "words: list[str]", "dict[str, list[str]]",
  "Group non-empty words by their first letter: map each first letter to the words that "
  "start with it, in their original order.",
  [("['apple', 'bee', 'avocado']", "{'a': ['apple', 'avocado'], 'b': ['bee']}")],
  ["[]", "['x']", "['b', 'a', 'b']", "['Cat', 'cow']"],
  "groups = {}\nfor w in words:\n    groups.setdefault(w[0], []).append(w)\nreturn groups",
  "dicts")
T("two_sum", "nums: list[int], target: int", "object",
  "Return [i, j] with i < j and nums[i] + nums[j] == target, choosing the smallest i and "
  "then the smallest j; return None if there is no such pair.",
  [("[2, 7, 11, 15], 9", "[0, 1]")], ["[], 0", "[1, 2], 5", "[3, 3], 6", "[1, 5, 2, 4], 6",
                                      "[0, -1, 1], 0"],
  "for i in range(len(nums)):\n    for j in range(i + 1, len(nums)):\n"
  "        if nums[i] + nums[j] == target:\n            return [i, j]\nreturn None", "lists")
T("common_prefix", "words: list[str]", "str",
  "Return the longest string that every word starts with ('' for an empty list).",
  [("['flower', 'flow', 'flight']", "'fl'")], ["[]", "['alone']", "['dog', 'cat']",
                                               "['same', 'same']", "['ab', 'abc', '']"],
  "if not words:\n    return ''\nprefix = words[0]\nfor w in words[1:]:\n"
  "    while not w.startswith(prefix):\n        prefix = prefix[:-1]\nreturn prefix",
  "strings")
T("dedupe_adjacent", "items: list", "list",
  "Return the list with runs of equal adjacent items collapsed to one item.",
  [("[1, 1, 2, 2, 2, 1]", "[1, 2, 1]")], ["[]", "[5]", "['a', 'a']", "[1, 2, 3]"],
  "out = []\nfor x in items:\n    if not out or out[-1] != x:\n        out.append(x)\n"
  "return out", "lists")
T("max_subarray_sum", "nums: list[int]", "int",
  "Return the largest sum of a non-empty run of consecutive numbers in a non-empty list.",
  [("[-2, 1, -3, 4, -1, 2, 1, -5, 4]", "6")], ["[5]", "[-3, -1, -2]", "[1, 2, 3]",
                                               "[2, -10, 3]"],
  "best = cur = nums[0]\nfor n in nums[1:]:\n    cur = max(n, cur + n)\n"
  "    best = max(best, cur)\nreturn best", "lists")
T("count_primes", "n: int", "int", "Return how many prime numbers are smaller than n.",
  [("10", "4")], ["0", "2", "3", "100", "1000"],
  "count = 0\nfor k in range(2, n):\n    if all(k % d for d in range(2, int(k ** 0.5) + 1)):\n"
  "        count += 1\nreturn count", "arithmetic")
T("prime_factors", "n: int", "list[int]",
  "Return the prime factors of n (n >= 2) in increasing order, repeated by multiplicity.",
  [("12", "[2, 2, 3]")], ["2", "13", "64", "360", "9973"],
  "out = []\nd = 2\nwhile d * d <= n:\n    while n % d == 0:\n        out.append(d)\n"
  "        n //= d\n    d += 1\nif n > 1:\n    out.append(n)\nreturn out", "arithmetic")
T("pascal_row", "n: int", "list[int]",
  "Return row n of Pascal's triangle, where row 0 is [1] and row 1 is [1, 1].",
  [("3", "[1, 3, 3, 1]")], ["0", "1", "2", "6"],
  "row = [1]\nfor _ in range(n):\n    row = [1] + [row[i] + row[i + 1] for i in "
  "range(len(row) - 1)] + [1]\nreturn row", "loops")
T("is_armstrong", "n: int", "bool",
  "Return True if the non-negative n equals the sum of its digits each raised to the "
  "number of digits (e.g. 153 = 1**3 + 5**3 + 3**3).",
  [("153", "True"), ("154", "False")], ["0", "9", "10", "370", "9474", "9475"],
  "digits = str(n)\nreturn n == sum(int(d) ** len(digits) for d in digits)", "arithmetic")
T("digital_root", "n: int", "int",
  "Repeatedly replace the non-negative n by the sum of its digits until one digit remains; "
  "return it.",
  [("493", "7")], ["0", "5", "10", "99999", "123456789"],
  "while n >= 10:\n    n = sum(int(d) for d in str(n))\nreturn n", "loops")
T("reverse_integer", "n: int", "int",
  "Return the integer with the digits of n reversed, keeping its sign (leading zeros "
  "vanish).",
  [("123", "321"), ("-45", "-54")], ["0", "120", "-1000", "7"],
  "sign = -1 if n < 0 else 1\nreturn sign * int(str(abs(n))[::-1])", "arithmetic")
T("is_power_of_two", "n: int", "bool",
  "Return True if n is a power of two (1, 2, 4, 8, ...).",
  [("8", "True"), ("6", "False")], ["0", "1", "-8", "1024", "1023", "2**40"],
  "if n < 1:\n    return False\nwhile n % 2 == 0:\n    n //= 2\nreturn n == 1", "arithmetic")
T("collatz_steps", "n: int", "int",
  "Return how many Collatz steps (n -> n // 2 if even, else 3 * n + 1) take n >= 1 to 1.",
  [("6", "8")], ["1", "2", "3", "27"],
  "steps = 0\nwhile n != 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n    steps += 1\n"
  "return steps", "loops")
T("group_keys_by_value", "d: dict", "dict",
  "Return a dictionary mapping each value of d to the list of its keys, in d's order.",
  [("{'a': 1, 'b': 2, 'c': 1}", "{1: ['a', 'c'], 2: ['b']}")], ["{}", "{'x': 0}",
                                                                 "{'p': 'v', 'q': 'v'}"],
  "out = {}\nfor k, v in d.items():\n    out.setdefault(v, []).append(k)\nreturn out", "dicts")
T("top_words", "text: str", "list[tuple]",
  "Return (word, count) tuples for the words of text (split on whitespace), most frequent "
  "first; words with equal counts in alphabetical order.",
  [("'b a b c a b'", "[('b', 3), ('a', 2), ('c', 1)]")], ["''", "'x'", "'z y x'",
                                                          "'to be or not to be'"],
  "counts = {}\nfor w in text.split():\n    counts[w] = counts.get(w, 0) + 1\n"
  "return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))", "dicts")
T("missing_keys", "a: dict, b: dict", "list",
  "Return the keys of a that are not keys of b, sorted.",
  [("{'x': 1, 'y': 2, 'z': 3}, {'y': 0}", "['x', 'z']")], ["{}, {}", "{'a': 1}, {'a': 2}",
                                                           "{'b': 1, 'a': 1}, {}"],
  "return sorted(k for k in a if k not in b)", "dicts")
T("nested_get", "d: dict, keys: list", "object",
  "Follow keys through nested dictionaries (d[k1][k2]...) and return the value, or None "
  "if a key is missing or a value on the way is not a dictionary.",
  [("{'a': {'b': {'c': 1}}}, ['a', 'b', 'c']", "1")],
  ["{'a': 1}, ['b']", "{'a': {'b': 2}}, ['a']", "{'a': 1}, ['a', 'b']", "{'a': 5}, []",
   "{}, ['x']"],
  "cur = d\nfor k in keys:\n    if not isinstance(cur, dict) or k not in cur:\n"
  "        return None\n    cur = cur[k]\nreturn cur", "dicts")
T("add_counts", "a: dict[str, int], b: dict[str, int]", "dict[str, int]",
  "Return a dictionary with every key of a or b; a shared key maps to the sum of its values.",
  [("{'x': 1, 'y': 2}, {'y': 3, 'z': 4}", "{'x': 1, 'y': 5, 'z': 4}")],
  ["{}, {}", "{'a': 1}, {}", "{}, {'b': 2}", "{'a': -1}, {'a': 1}"],
  "out = dict(a)\nfor k, v in b.items():\n    out[k] = out.get(k, 0) + v\nreturn out", "dicts")
T("passing_students", "grades: dict[str, int], threshold: int", "list[str]",
  "Return the names whose grade is at least threshold, sorted alphabetically.",
  [("{'bob': 70, 'amy': 90, 'cid': 40}, 60", "['amy', 'bob']")],
  ["{}, 50", "{'x': 50}, 50", "{'x': 49}, 50", "{'zed': 100, 'ann': 100, 'max': 99}, 100"],
  "return sorted(name for name, g in grades.items() if g >= threshold)", "dicts")
T("average_scores", "scores: dict[str, list[int]]", "dict[str, float]",
  "Return a dictionary mapping each name to the average of its scores (0.0 for no scores).",
  [("{'a': [1, 2], 'b': [4]}", "{'a': 1.5, 'b': 4.0}")],
  ["{}", "{'x': []}", "{'p': [10, 20, 30, 40]}", "{'q': [1, 1, 2], 'r': [-4, 4]}"],
  "return {k: (sum(v) / len(v) if v else 0.0) for k, v in scores.items()}", "dicts")
T("snake_to_camel", "s: str", "str",
  "Convert a snake_case name to camelCase: remove the underscores and capitalise the first "
  "letter of every word except the first.",
  [("'hello_big_world'", "'helloBigWorld'")], ["''", "'single'", "'a_b'", "'get_http_code'"],
  "parts = s.split('_')\nreturn parts[0] + ''.join(p.capitalize() for p in parts[1:])",
  "strings")
T("camel_to_snake", "s: str", "str",
  "Convert a camelCase name to snake_case: put an underscore before every upper-case "
  "letter and make it lower case.",
  [("'helloBigWorld'", "'hello_big_world'")], ["''", "'single'", "'aB'", "'getHttpCode'"],
  "out = ''\nfor ch in s:\n    if ch.isupper():\n        out += '_' + ch.lower()\n"
  "    else:\n        out += ch\nreturn out", "strings")
T("censor", "text: str, banned: list[str]", "str",
  "Replace every word of text (words separated by single spaces) that is in banned by as "
  "many '*' as it has letters.",
  [("'you are silly', ['silly']", "'you are *****'")],
  ["'', ['a']", "'nothing here', []", "'a b a', ['a']", "'bad words bad', ['bad', 'words']"],
  "return ' '.join('*' * len(w) if w in banned else w for w in text.split(' '))", "strings")
T("running_max", "nums: list[int]", "list[int]",
  "Return a list whose element i is the largest of nums[0..i].",
  [("[1, 3, 2, 5, 4]", "[1, 3, 3, 5, 5]")], ["[]", "[7]", "[5, 4, 3]", "[-2, -1, -3]"],
  "out = []\nfor n in nums:\n    out.append(n if not out else max(out[-1], n))\nreturn out",
  "lists")
T("count_pairs_with_sum", "nums: list[int], target: int", "int",
  "Return how many index pairs i < j have nums[i] + nums[j] == target.",
  [("[1, 2, 3, 4], 5", "2")], ["[], 0", "[5], 10", "[2, 2, 2], 4", "[0, 0], 0", "[1, 9], 9"],
  "return sum(1 for i in range(len(nums)) for j in range(i + 1, len(nums)) "
  "if nums[i] + nums[j] == target)", "lists")
T("missing_number", "nums: list[int]", "int",
  "nums holds every number from 0 to len(nums) except one; return the missing number.",
  [("[3, 0, 1]", "2")], ["[]", "[0]", "[1]", "[0, 1, 2, 4]", "[5, 4, 3, 2, 1]"],
  "n = len(nums)\nreturn n * (n + 1) // 2 - sum(nums)", "lists")
T("first_unique_char", "s: str", "str",
  "Return the first character of s that appears exactly once, or '' if there is none.",
  [("'swiss'", "'w'")], ["''", "'aabb'", "'abc'", "'aabbc'", "'xx y'"],
  "for ch in s:\n    if s.count(ch) == 1:\n        return ch\nreturn ''", "strings")
T("alternating_sum", "nums: list[int]", "int",
  "Return nums[0] - nums[1] + nums[2] - nums[3] + ... (0 for an empty list).",
  [("[5, 3, 2]", "4")], ["[]", "[7]", "[1, 1]", "[10, -10, 10, -10]"],
  "return sum(n if i % 2 == 0 else -n for i, n in enumerate(nums))", "lists")
T("list_difference", "a: list, b: list", "list",
  "Return the items of a that do not appear in b, in a's order (duplicates kept).",
  [("[1, 2, 3, 2, 4], [2]", "[1, 3, 4]")], ["[], [1]", "[1, 2], []", "[1, 1], [1]",
                                             "['a', 'b', 'a'], ['b', 'c']"],
  "return [x for x in a if x not in b]", "lists")
T("common_elements", "a: list[int], b: list[int]", "list[int]",
  "Return the numbers that appear in both lists, without duplicates, sorted.",
  [("[3, 1, 2, 2], [2, 3, 5]", "[2, 3]")], ["[], [1]", "[1, 2], [3, 4]", "[5, 5], [5]",
                                            "[-1, 0, 1], [1, 0, -1]"],
  "return sorted(set(a) & set(b))", "lists")
T("valid_password", "password: str", "bool",
  "Return True if password has at least 8 characters, at least one digit, one upper-case "
  "letter and one lower-case letter.",
  [("'Secret123'", "True"), ("'secret123'", "False")],
  ["''", "'Ab1'", "'ABCDEFG1'", "'abcdefgH'", "'aB3aB3aB'", "'Pass word 9'"],
  "return (len(password) >= 8 and any(c.isdigit() for c in password)\n"
  "        and any(c.isupper() for c in password) and any(c.islower() for c in password))",
  "strings")
T("hamming_distance", "a: str, b: str", "int",
  "Return how many positions differ between two strings of equal length.",
  [("'karolin', 'kathrin'", "3")], ["'', ''", "'a', 'a'", "'abc', 'xyz'", "'1011', '1001'"],
  "return sum(1 for x, y in zip(a, b) if x != y)", "strings")
T("staircase", "n: int", "list[str]",
  "Return n strings: the k-th (from 1) is k '#' characters.",
  [("3", "['#', '##', '###']")], ["0", "1", "5"], "return ['#' * k for k in range(1, n + 1)]",
  "loops")
T("spell_digits", "n: int", "str",
  "Return the digits of the non-negative n spelled as English words separated by spaces.",
  [("405", "'four zero five'")], ["0", "7", "1234567890", "11"],
  "names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']\n"
  "return ' '.join(names[int(d)] for d in str(n))", "strings")
T("sum_primes", "n: int", "int", "Return the sum of the prime numbers that are <= n.",
  [("10", "17")], ["0", "2", "3", "30", "100"],
  "return sum(k for k in range(2, n + 1) if all(k % d for d in range(2, int(k ** 0.5) + 1)))",
  "arithmetic")
T("gcd_list", "nums: list[int]", "int",
  "Return the greatest common divisor of a non-empty list of positive integers.",
  [("[12, 18, 24]", "6")], ["[7]", "[5, 10]", "[9, 28]", "[100, 75, 50, 25]"],
  "result = nums[0]\nfor n in nums[1:]:\n    a, b = result, n\n    while b:\n"
  "        a, b = b, a % b\n    result = a\nreturn result", "arithmetic")
T("sort_by_length", "words: list[str]", "list[str]",
  "Return the words sorted by length, shortest first; words of equal length keep their "
  "order.",
  [("['ccc', 'a', 'bb', 'd']", "['a', 'd', 'bb', 'ccc']")], ["[]", "['x']",
                                                             "['bb', 'aa', 'c']",
                                                             "['long', 'longer', 'l']"],
  "return sorted(words, key=len)", "lists")
T("keys_sorted_by_value", "d: dict[str, int]", "list[str]",
  "Return the keys of d ordered by value from largest to smallest; equal values in "
  "alphabetical order of key.",
  [("{'a': 1, 'b': 3, 'c': 2}", "['b', 'c', 'a']")], ["{}", "{'x': 0}",
                                                      "{'b': 1, 'a': 1, 'c': 2}"],
  "return sorted(d, key=lambda k: (-d[k], k))", "dicts")
T("longest_run", "items: list", "int",
  "Return the length of the longest run of equal adjacent items (0 for an empty list).",
  [("[1, 1, 2, 2, 2, 1]", "3")], ["[]", "[5]", "[1, 2, 3]", "['a', 'a', 'a', 'a']",
                                  "[1, 1, 2, 1, 1]"],
  "best = cur = 0\nfor i, x in enumerate(items):\n    cur = cur + 1 if i and items[i - 1] == x "
  "else 1\n    best = max(best, cur)\nreturn best", "lists")
T("count_words_with_vowel_start", "text: str", "int",
  "Return how many words of text (split on whitespace) start with a vowel (a, e, i, o, u, "
  "any case).",
  [("'an apple is on the table'", "4")], ["''", "'xyz'", "'Every Ox'", "'  umbrella  '"],
  "return sum(1 for w in text.split() if w[0].lower() in 'aeiou')", "strings")
T("matrix_row_sums", "matrix: list[list[int]]", "list[int]",
  "Return the sum of each row of the matrix.",
  [("[[1, 2], [3, 4]]", "[3, 7]")], ["[]", "[[]]", "[[5]]", "[[1, -1, 2], [0, 0, 0]]"],
  "return [sum(row) for row in matrix]", "lists")
T("histogram", "nums: list[int]", "list[str]",
  "Return one string of '*' per number: the i-th string has nums[i] stars.",
  [("[2, 0, 3]", "['**', '', '***']")], ["[]", "[1]", "[5, 1]"],
  "return ['*' * n for n in nums]", "loops")
T("digit_sums", "nums: list[int]", "list[int]",
  "Return the digit sum of each non-negative number of nums.",
  [("[12, 305, 7]", "[3, 8, 7]")], ["[]", "[0]", "[999, 1000]"],
  "return [sum(int(d) for d in str(n)) for n in nums]", "loops")
T("pig_latin", "word: str", "str",
  "Translate a lower-case word to Pig Latin: if it starts with a vowel add 'way'; "
  "otherwise move the letters before the first vowel to the end and add 'ay'. A word "
  "without vowels just gets 'ay'.",
  [("'apple'", "'appleway'"), ("'string'", "'ingstray'")], ["'egg'", "'pig'", "'rhythm'",
                                                            "'cherry'"],
  "vowels = 'aeiou'\nif word[0] in vowels:\n    return word + 'way'\n"
  "for i, ch in enumerate(word):\n    if ch in vowels:\n        return word[i:] + word[:i] + 'ay'\n"
  "return word + 'ay'", "strings")


# ----------------------------------------------------------------------------- building

def _literal(value: object) -> str:
    text = repr(value)
    if eval(text) != value:  # noqa: S307 - our own literals
        raise ValueError(f"{value!r} does not round-trip through repr")
    return text


def _assert(name: str, args: str, value: object) -> str:
    call = f"candidate({args})"
    if value is None:
        return f"assert {call} is None"
    if isinstance(value, float):
        return f"assert abs({call} - {_literal(value)}) < 1e-6"
    return f"assert {call} == {_literal(value)}"


def build(spec: dict, split: str) -> dict:
    """The JSONL record of one task spec; raises if the spec is inconsistent."""
    name = spec["name"]
    signature = f"def {name}({spec['params']}) -> {spec['ret']}:"
    doc_lines = textwrap.wrap(spec["doc"], 84)
    examples = "".join(f"    >>> {name}({args})\n    {expected}\n" for args, expected
                       in spec["ex"])
    docstring = ('    """' + "\n    ".join(doc_lines) + "\n\n" + examples + '    """\n')
    stub = f"{signature}\n{docstring}"
    reference = f"{signature}\n{textwrap.indent(spec['body'], '    ')}\n"
    namespace: dict = {}
    exec(reference, namespace)  # noqa: S102 - our own reference code
    fn = namespace[name]
    tests, public = [], []
    for args, expected in spec["ex"]:
        got = eval(f"fn({args})", {"fn": fn})  # noqa: S307
        want = eval(expected)  # noqa: S307
        close = isinstance(want, float) and math.isclose(got, want, abs_tol=1e-9)
        if not (got == want and type(got) is type(want)) and not close:
            raise ValueError(f"{name}({args}): reference gives {got!r}, example says {expected}")
        public.append(_assert(name, args, want))
    for args in spec["hidden"]:
        tests.append(_assert(name, args, eval(f"fn({args})", {"fn": fn})))  # noqa: S307
    hidden = public + tests
    stub_fn: dict = {}
    exec(stub, stub_fn)  # noqa: S102
    if all(_passes(test, stub_fn[name]) for test in hidden):
        raise ValueError(f"{name}: a stub returning None passes every hidden test")
    if len(hidden) < 4:
        raise ValueError(f"{name}: needs at least 4 hidden tests, has {len(hidden)}")
    prompt = ("Complete the following Python function.\n\n```python\n"
              f"{signature}\n{docstring}```\n")
    return {"id": f"basics/{name}", "prompt": prompt, "entry_point": name,
            "signature": signature, "code_prefix": stub, "public_tests": public,
            "hidden_tests": hidden, "reference": reference, "split": split,
            "metadata": {"difficulty": spec["level"], "tags": [spec["tag"]]}}


def _passes(test: str, fn: object) -> bool:
    try:
        exec(test, {"candidate": fn})  # noqa: S102
    except Exception:  # noqa: BLE001 - any failure means the test caught the stub
        return False
    return True


def records() -> list[dict]:
    """Every task's JSONL record, grouped by difficulty; the split follows the fixed rule."""
    names = [spec["name"] for spec in TASKS]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate task names: {duplicates}")
    out = []
    for level in LEVELS:
        specs = [s for s in TASKS if s["level"] == level]
        for position, spec in enumerate(specs):
            out.append(build(spec, "test" if position % 3 == 2 else "train"))
    return out


def main() -> None:
    """Write the JSONL file and print the counts per split and difficulty."""
    rows = records()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for split in ("train", "test"):
        counts = {lv: sum(1 for r in rows if r["split"] == split
                          and r["metadata"]["difficulty"] == lv) for lv in LEVELS}
        print(split, sum(counts.values()), counts)
    print("total", len(rows), "->", OUT)


if __name__ == "__main__":
    main()
