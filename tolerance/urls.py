app_name = "tolerance"

urlpatterns: list = []
