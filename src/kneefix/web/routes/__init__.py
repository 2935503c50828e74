"""The web app's routes, one module per part of the product (pages and their JSON API side by side).

Routes parse the request, call a service function and render or return its result; they never touch
the database tables themselves (``make lint`` checks it).
"""
