from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from training.promotion import promote_by_hand, version_by_number
from training.registry import ModelFileError


class Command(BaseCommand):
    help = "Make a model version the active one by hand (a promotion or a rollback), with a reason."

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", type=int)
        parser.add_argument("--reason", required=True, help="why, recorded with the promotion")
        parser.add_argument("--user", help="the staff username to record (default: none)")

    def handle(self, *args, version, reason, user, **options) -> None:
        try:
            staff = get_user_model().objects.get(username=user, is_staff=True) if user else None
            promote_by_hand(version_by_number(version), staff, reason)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no staff user named {user!r}.") from None
        except (ValueError, ModelFileError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Model v{version} is now active.")
