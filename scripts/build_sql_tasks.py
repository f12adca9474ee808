"""Write sandgym/envs/tools/data/sql_tasks.jsonl: the SQL domain's tasks over company.sql.

Each task is a question and its gold query (submitted with ``submit_query``); the
answer is the query's result set, order-aware only when the gold query has ORDER BY.
The script runs every gold query on the database and refuses an empty result (a task
whose answer is empty would pay a query that finds nothing).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "sandgym" / "envs" / "tools" / "data"

TASKS = [
    ("count_employees", "How many employees are there?", "SELECT COUNT(*) FROM employees"),
    ("count_departments", "How many departments are there?", "SELECT COUNT(*) FROM departments"),
    ("dept_names_sorted", "List the names of all departments in alphabetical order.",
     "SELECT name FROM departments ORDER BY name"),
    ("berlin_departments", "Which departments are located in Berlin? Give their names.",
     "SELECT name FROM departments WHERE city = 'Berlin'"),
    ("max_salary", "What is the highest salary of any employee?", "SELECT MAX(salary) FROM employees"),  # noqa: E501
    ("min_salary", "What is the lowest salary of any employee?", "SELECT MIN(salary) FROM employees"),  # noqa: E501
    ("avg_salary", "What is the average salary of all employees, rounded to 2 decimals?",
     "SELECT ROUND(AVG(salary), 2) FROM employees"),
    ("total_payroll", "What is the sum of all employee salaries?", "SELECT SUM(salary) FROM employees"),  # noqa: E501
    ("top3_salaries", "List the names and salaries of the 3 best-paid employees, highest first.",
     "SELECT name, salary FROM employees ORDER BY salary DESC, id LIMIT 3"),
    ("hired_after_2020", "Which employees were hired after 2020? Give their names.",
     "SELECT name FROM employees WHERE hire_year > 2020"),
    ("hired_2016", "Give the names of employees hired in 2016.",
     "SELECT name FROM employees WHERE hire_year = 2016"),
    ("count_per_dept", "For each department name, how many employees does it have? Give name "
     "and count.", "SELECT d.name, COUNT(e.id) FROM departments d LEFT JOIN employees e ON "
     "e.dept_id = d.id GROUP BY d.id"),
    ("avg_salary_per_dept", "For each department name, give the average salary of its "
     "employees rounded to 0 decimals.", "SELECT d.name, ROUND(AVG(e.salary)) FROM departments "
     "d JOIN employees e ON e.dept_id = d.id GROUP BY d.id"),
    ("dept_largest", "Which department has the most employees? Give its name.",
     "SELECT d.name FROM departments d JOIN employees e ON e.dept_id = d.id GROUP BY d.id "
     "ORDER BY COUNT(*) DESC, d.id LIMIT 1"),
    ("engineering_staff", "List the names of employees in the Engineering department.",
     "SELECT e.name FROM employees e JOIN departments d ON e.dept_id = d.id WHERE d.name = "
     "'Engineering'"),
    ("paris_staff_count", "How many employees work in departments located in Paris?",
     "SELECT COUNT(*) FROM employees e JOIN departments d ON e.dept_id = d.id WHERE d.city = "
     "'Paris'"),
    ("no_manager", "Which employees have no manager? Give their names.",
     "SELECT name FROM employees WHERE manager_id IS NULL"),
    ("managed_by_ada", "Which employees are managed by Ada Jones? Give their names.",
     "SELECT e.name FROM employees e JOIN employees m ON e.manager_id = m.id WHERE m.name = "
     "'Ada Jones'"),
    ("manager_report_counts", "For each manager, give the manager's name and how many "
     "employees report to them.", "SELECT m.name, COUNT(*) FROM employees e JOIN employees m "
     "ON e.manager_id = m.id GROUP BY m.id"),
    ("earn_more_than_manager", "Which employees earn more than their manager? Give their names.",
     "SELECT e.name FROM employees e JOIN employees m ON e.manager_id = m.id WHERE e.salary > "
     "m.salary"),
    ("project_budgets_sorted", "List project names and budgets, largest budget first.",
     "SELECT name, budget FROM projects ORDER BY budget DESC"),
    ("total_budget", "What is the total budget of all projects?", "SELECT SUM(budget) FROM projects"),  # noqa: E501
    ("project_no_dept", "Which projects belong to no department? Give their names.",
     "SELECT name FROM projects WHERE dept_id IS NULL"),
    ("research_projects", "List the names of the projects of the Research department.",
     "SELECT p.name FROM projects p JOIN departments d ON p.dept_id = d.id WHERE d.name = "
     "'Research'"),
    ("budget_per_city", "For each city, give the total budget of the projects of departments "
     "in that city.", "SELECT d.city, SUM(p.budget) FROM projects p JOIN departments d ON "
     "p.dept_id = d.id GROUP BY d.city"),
    ("hours_per_project", "For each project name, give the total hours assigned to it "
     "(projects with assignments only).", "SELECT p.name, SUM(a.hours) FROM assignments a "
     "JOIN projects p ON a.project_id = p.id GROUP BY p.id"),
    ("unassigned_projects", "Which projects have no assignments at all? Give their names.",
     "SELECT name FROM projects WHERE id NOT IN (SELECT project_id FROM assignments)"),
    ("unassigned_employees", "Which employees are not assigned to any project? Give their "
     "names.", "SELECT name FROM employees WHERE id NOT IN (SELECT employee_id FROM "
     "assignments)"),
    ("busiest_employee", "Which employee has the most total assigned hours? Give the name.",
     "SELECT e.name FROM employees e JOIN assignments a ON a.employee_id = e.id GROUP BY e.id "
     "ORDER BY SUM(a.hours) DESC, e.id LIMIT 1"),
    ("multi_project_employees", "Which employees are assigned to two or more projects? Give "
     "their names.", "SELECT e.name FROM employees e JOIN assignments a ON a.employee_id = "
     "e.id GROUP BY e.id HAVING COUNT(*) >= 2"),
    ("atlas_members", "List the names of the employees assigned to the Atlas project.",
     "SELECT e.name FROM employees e JOIN assignments a ON a.employee_id = e.id JOIN projects "
     "p ON p.id = a.project_id WHERE p.name = 'Atlas'"),
    ("total_hours", "What is the total number of assigned hours across all assignments?",
     "SELECT SUM(hours) FROM assignments"),
    ("avg_hours_rounded", "What is the average hours per assignment, rounded to 1 decimal?",
     "SELECT ROUND(AVG(hours), 1) FROM assignments"),
    ("salary_above_avg", "Which employees earn more than the average salary? Give their names.",
     "SELECT name FROM employees WHERE salary > (SELECT AVG(salary) FROM employees)"),
    ("dept_max_salary", "For each department name, give the highest salary in it.",
     "SELECT d.name, MAX(e.salary) FROM departments d JOIN employees e ON e.dept_id = d.id "
     "GROUP BY d.id"),
    ("names_starting_a", "List the names of employees whose name starts with 'A', "
     "alphabetically.", "SELECT name FROM employees WHERE name LIKE 'A%' ORDER BY name"),
    ("smith_count", "How many employees have the last name Smith?",
     "SELECT COUNT(*) FROM employees WHERE name LIKE '% Smith'"),
    ("hires_per_year", "For each hire year, how many employees were hired? Order by year.",
     "SELECT hire_year, COUNT(*) FROM employees GROUP BY hire_year ORDER BY hire_year"),
    ("earliest_hire", "Which employee(s) were hired in the earliest year? Give their names.",
     "SELECT name FROM employees WHERE hire_year = (SELECT MIN(hire_year) FROM employees)"),
    ("salary_range_count", "How many employees earn between 60000 and 90000 inclusive?",
     "SELECT COUNT(*) FROM employees WHERE salary BETWEEN 60000 AND 90000"),
    ("multi_project_departments", "Which departments have more than one project? Give their "
     "names.", "SELECT d.name FROM departments d JOIN projects p ON p.dept_id = d.id GROUP BY "
     "d.id HAVING COUNT(*) > 1"),
    ("second_highest_salary", "What is the second highest distinct salary?",
     "SELECT DISTINCT salary FROM employees ORDER BY salary DESC LIMIT 1 OFFSET 1"),
    ("cities_distinct", "List the distinct cities of the departments, alphabetically.",
     "SELECT DISTINCT city FROM departments ORDER BY city"),
    ("cross_dept_work", "Which employees work on a project of a department other than their "
     "own? Give their names, once each.", "SELECT DISTINCT e.name FROM employees e JOIN "
     "assignments a ON a.employee_id = e.id JOIN projects p ON p.id = a.project_id WHERE "
     "p.dept_id IS NOT e.dept_id"),
]


def main() -> None:
    """Check every gold query on the database and write the JSONL."""
    con = sqlite3.connect(":memory:")
    con.executescript((DATA / "company.sql").read_text())
    lines = []
    for index, (name, question, query) in enumerate(TASKS):
        if not con.execute(query).fetchall():
            raise SystemExit(f"{name}: the gold query returns no rows")
        record = {"id": f"sql/{name}", "instruction": question,
                  "gold_calls": [{"name": "submit_query", "arguments": {"query": query}}],
                  "split": "test" if index % 3 == 2 else "train"}
        if "ORDER BY" not in query.upper():
            record["unordered"] = ["answer"]
        lines.append(json.dumps(record))
    (DATA / "sql_tasks.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} tasks")


if __name__ == "__main__":
    main()
