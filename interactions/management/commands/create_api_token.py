from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from interactions.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print it alone on stdout (it is stored hashed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a note to tell tokens apart")

    def handle(self, *args, username, name, **options) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user named {username!r}; create one with createsuperuser.") from None
        _, plaintext = ApiToken.issue(user, name=name)
        self.stdout.write(plaintext)
