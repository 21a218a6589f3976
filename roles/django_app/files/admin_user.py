# Run by `manage.py shell -c` in a one-off container of the app image: works with any Django project.
# Without DJANGOOPS_ADMIN_PASSWORD_HASH it only reports; with it, it creates the missing superuser
# from a hash made on the controller, so the plaintext password never reaches the server.
import os
from django.contrib.auth import get_user_model
User = get_user_model()
username = os.environ["DJANGOOPS_ADMIN_USERNAME"]
password_hash = os.environ.get("DJANGOOPS_ADMIN_PASSWORD_HASH")
if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
    print("djangoops: admin user exists")
elif not password_hash:
    print("djangoops: admin user missing")
else:
    user = User(**{User.USERNAME_FIELD: username}, email=os.environ.get("DJANGOOPS_ADMIN_EMAIL", ""),
                is_staff=True, is_superuser=True, is_active=True)
    user.password = password_hash
    user.save()
    print("djangoops: admin user created")
