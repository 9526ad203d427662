"""The county hub (流动党员之家): announcements and read receipts, questions and answers.

for_home(user) is what the hub puts on a home page: for a member, announcements they
were nudged about, unread announcements and answers not yet opened; for the county admin
and a township officer, questions left open too long (todo_for).
"""

from baojing.dates import local_today
from baojing.models.users import MEMBER, User
from baojing.services.home import HomeItem


def for_home(user: User) -> list[HomeItem]:
    """What the hub has for this user's home page; a constant number of statements."""
    from baojing.services.hub import announcements, questions

    if user.role == MEMBER:
        return announcements.home_items(user, local_today()) + questions.home_items(user)
    return questions.todo_for(user)


def todo_for(user: User) -> list[HomeItem]:
    """An officer's to-do: questions left open past the county's setting."""
    from baojing.services.hub import questions

    return questions.todo_for(user)
