import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from training.models import Example, Source
from training.registry import active_version


class Command(BaseCommand):
    help = "Prepare a fresh install (idempotent): migrate, load the seed, train the first model, create the admin."

    def handle(self, *args, **options) -> None:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not Example.objects.filter(source=Source.BASE).exists():
            call_command("import_jsonl", str(settings.SECONDMIND_SEED_FILE), source=Source.BASE)
        if active_version() is None:
            call_command("retrain", wait=True, force=True)
        self._ensure_admin()

    def _ensure_admin(self):
        password_file = settings.DATA_DIR / "admin-password.txt"
        users = get_user_model().objects
        if not users.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser("admin", "", password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        self.stdout.write(
            f"\nLog in at http://{os.environ.get('BIND', '127.0.0.1:8000')}/ as 'admin' with the password in "
            f"{password_file} (change it in the admin).\n"
            "Get an API token:  TOKEN=$(.venv/bin/python manage.py create_api_token admin)\n"
        )
