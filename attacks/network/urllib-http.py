# id: net-http-urllib
# category: network
# description: an HTTP GET with the token in the URL through urllib
# source: urllib.request (stdlib): the network one import away
# detect: net (a host listener receives something)
import urllib.request

try:
    urllib.request.urlopen('http://%s:%d/%s' % (TCP[0], TCP[1], TOKEN), timeout=1)
except Exception:
    pass
