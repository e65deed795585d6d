"""Static routes (issue 4 item 6): files from a folder with Content-Type by extension,
index files and folder redirects, ETag/Last-Modified and 304, byte ranges (206/416), and no
way out of the folder: "..", its percent-encoded forms and symbolic links are refused."""

import os
import unittest

from harness import Conn, Gateway, http_request, make_config

ROUTES = """
- prefix: /static/
  static:
    root: @DIR@/site
- prefix: /rel/
  static:
    root: site
    index: page.txt
"""

BIG = bytes((i * 7) % 251 for i in range(1 << 20)) * 24  # 24 MiB


class StaticTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway(make_config(routes=ROUTES))
        d = cls.gw.dir
        site, outside = os.path.join(d, "site"), os.path.join(d, "outside")
        os.makedirs(os.path.join(site, "sub"))
        os.makedirs(outside)
        files = {
            "index.html": b"<h1>home</h1>\n",
            "app.js": b"console.log('hi');\n",
            "data.json": b'{"a":1}',
            "blob.xyz": b"\x00\x01\x02",
            "empty.txt": b"",
            "page.txt": b"the index of /rel/\n",
            "sub/index.html": b"<p>sub</p>\n",
            "sub/page.txt": b"sub page\n",
            "big.bin": BIG,
        }
        for name, data in files.items():
            with open(os.path.join(site, name), "wb") as f:
                f.write(data)
        cls.files = files
        with open(os.path.join(outside, "secret.txt"), "wb") as f:
            f.write(b"TOP SECRET\n")
        os.symlink(os.path.join(site, "app.js"), os.path.join(site, "link_in.js"))
        os.symlink(os.path.join(outside, "secret.txt"), os.path.join(site, "link_out.txt"))
        os.symlink(outside, os.path.join(site, "dir_out"))
        cls.gw.start()
        cls.port = cls.gw.port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gw.stop()
        finally:
            cls.gw.cleanup()

    def get(self, path, headers=None, method="GET"):
        return http_request(self.port, method, path, headers)

    def raw(self, target):
        conn = Conn(self.port)
        try:
            conn.send(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            return conn.read_response()
        finally:
            conn.close()

    # --- serving ---------------------------------------------------------------------

    def test_file_with_type_length_and_validators(self):
        status, headers, body = self.get("/static/app.js")
        self.assertEqual(status, 200)
        self.assertEqual(body, self.files["app.js"])
        self.assertEqual(headers["content-type"], "text/javascript; charset=utf-8")
        self.assertEqual(headers["content-length"], str(len(body)))
        self.assertEqual(headers["accept-ranges"], "bytes")
        self.assertRegex(headers["etag"], r'^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$')
        self.assertRegex(headers["last-modified"], r"^\w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d GMT$")

    def test_content_types_by_extension(self):
        for name, want in (("data.json", "application/json"),
                           ("index.html", "text/html; charset=utf-8"),
                           ("blob.xyz", "application/octet-stream")):
            status, headers, body = self.get("/static/" + name)
            self.assertEqual(status, 200, name)
            self.assertEqual(headers["content-type"], want, name)
            self.assertEqual(body, self.files[name])

    def test_index_and_folder_redirect(self):
        self.assertEqual(self.get("/static/")[2], self.files["index.html"])
        self.assertEqual(self.get("/static/sub/")[2], self.files["sub/index.html"])
        status, headers, _ = self.get("/static/sub?x=1")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "/static/sub/?x=1")

    def test_relative_root_and_custom_index(self):
        # `root: site` is relative to the config file's folder; index: page.txt.
        status, _, body = self.get("/rel/")
        self.assertEqual((status, body), (200, self.files["page.txt"]))
        self.assertEqual(self.get("/rel/sub/")[2], self.files["sub/page.txt"])
        self.assertEqual(self.get("/rel/app.js")[2], self.files["app.js"])

    def test_missing_file_is_404(self):
        status, headers, body = self.get("/static/nope.txt")
        self.assertEqual(status, 404)
        self.assertEqual(headers["content-type"], "application/json")

    def test_head_and_empty_file(self):
        status, headers, body = self.get("/static/index.html", method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-length"], str(len(self.files["index.html"])))
        self.assertEqual(body, b"")
        status, headers, body = self.get("/static/empty.txt")
        self.assertEqual((status, headers["content-length"], body), (200, "0", b""))

    def test_other_methods_get_405(self):
        status, headers, _ = http_request(self.port, "POST", "/static/app.js", body="x")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")

    def test_large_file_arrives_whole_on_a_kept_alive_connection(self):
        conn = Conn(self.port, timeout=20)
        try:
            status, headers, body = conn.request("GET", "/static/big.bin")
            self.assertEqual(status, 200)
            self.assertEqual(len(body), len(BIG))
            self.assertTrue(body == BIG)
            self.assertEqual(headers["connection"], "keep-alive")
            self.assertEqual(conn.request("GET", "/static/app.js")[2], self.files["app.js"])
        finally:
            conn.close()

    # --- conditional requests -----------------------------------------------------------

    def test_if_none_match_gives_304(self):
        _, headers, _ = self.get("/static/app.js")
        etag = headers["etag"]
        status, h304, body = self.get("/static/app.js", {"If-None-Match": etag})
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(h304["etag"], etag)
        self.assertNotIn("content-length", h304)
        self.assertEqual(self.get("/static/app.js", {"If-None-Match": f'"x", W/{etag}'})[0], 304)
        self.assertEqual(self.get("/static/app.js", {"If-None-Match": '"other"'})[0], 200)

    def test_if_modified_since(self):
        _, headers, _ = self.get("/static/app.js")
        lm = headers["last-modified"]
        self.assertEqual(self.get("/static/app.js", {"If-Modified-Since": lm})[0], 304)
        old = "Sat, 01 Jan 2000 00:00:00 GMT"
        self.assertEqual(self.get("/static/app.js", {"If-Modified-Since": old})[0], 200)
        # If-None-Match wins over If-Modified-Since.
        self.assertEqual(self.get("/static/app.js", {"If-Modified-Since": lm,
                                                     "If-None-Match": '"other"'})[0], 200)

    # --- ranges -------------------------------------------------------------------------

    def test_byte_ranges(self):
        data = self.files["app.js"]
        size = len(data)
        status, headers, body = self.get("/static/app.js", {"Range": "bytes=0-6"})
        self.assertEqual((status, body), (206, data[:7]))
        self.assertEqual(headers["content-range"], f"bytes 0-6/{size}")
        self.assertEqual(headers["content-length"], "7")
        status, headers, body = self.get("/static/app.js", {"Range": "bytes=-5"})
        self.assertEqual((status, body), (206, data[-5:]))
        status, _, body = self.get("/static/app.js", {"Range": "bytes=8-"})
        self.assertEqual((status, body), (206, data[8:]))
        status, _, body = self.get("/static/app.js", {"Range": "bytes=3-1000"})
        self.assertEqual((status, body), (206, data[3:]))

    def test_unsatisfiable_and_ignored_ranges(self):
        size = len(self.files["app.js"])
        status, headers, _ = self.get("/static/app.js", {"Range": f"bytes={size}-"})
        self.assertEqual(status, 416)
        self.assertEqual(headers["content-range"], f"bytes */{size}")
        for ignored in ("bytes=0-1,4-5", "items=0-1", "bytes=5-2"):
            status, _, body = self.get("/static/app.js", {"Range": ignored})
            self.assertEqual((status, body), (200, self.files["app.js"]), ignored)

    def test_if_range(self):
        _, headers, _ = self.get("/static/app.js")
        status, _, _ = self.get("/static/app.js",
                                {"Range": "bytes=0-1", "If-Range": headers["etag"]})
        self.assertEqual(status, 206)
        status, _, _ = self.get("/static/app.js", {"Range": "bytes=0-1", "If-Range": '"old"'})
        self.assertEqual(status, 200)
        status, _, _ = self.get("/static/app.js",
                                {"Range": "bytes=0-1", "If-Range": headers["last-modified"]})
        self.assertEqual(status, 206)

    def test_range_in_the_middle_of_a_large_file(self):
        status, _, body = self.get("/static/big.bin", {"Range": "bytes=5000000-5999999"})
        self.assertEqual(status, 206)
        self.assertTrue(body == BIG[5000000:6000000])

    # --- staying inside the root --------------------------------------------------------

    def test_dot_dot_is_refused(self):
        for target in ("/static/../outside/secret.txt",
                       "/static/sub/../../outside/secret.txt",
                       "/static/%2e%2e/outside/secret.txt",
                       "/static/%2E%2E/outside/secret.txt",
                       "/static/sub/%2e%2e/%2e%2e/outside/secret.txt",
                       "/static/.%2e/outside/secret.txt",
                       "/static/%2e%2e%2foutside%2fsecret.txt",
                       "/static/..%2foutside/secret.txt",
                       "/static/sub/..",
                       "/static/%00app.js"):
            status, _, body = self.raw(target)
            self.assertEqual(status, 400, target)
            self.assertNotIn(b"SECRET", body)

    def test_dot_segments_that_stay_inside_are_fine(self):
        self.assertEqual(self.raw("/static/./sub/./page.txt")[2], self.files["sub/page.txt"])
        self.assertEqual(self.raw("/static//sub//page.txt")[2], self.files["sub/page.txt"])
        self.assertEqual(self.raw("/static/sub%2fpage.txt")[2], self.files["sub/page.txt"])

    def test_symlinks_leaving_the_root_are_not_followed(self):
        for target in ("/static/link_out.txt", "/static/dir_out/secret.txt"):
            status, _, body = self.raw(target)
            self.assertEqual(status, 404, target)
            self.assertNotIn(b"SECRET", body)
        status, headers, body = self.raw("/static/link_in.js")
        self.assertEqual((status, body), (200, self.files["app.js"]))


    # --- issue 9: hostile paths and ranges ----------------------------------------------

    def test_a_file_named_as_a_folder_is_404(self):
        for target in ("/static/index.html/", "/static/index.html/.", "/static/index.html/./",
                       "/static/app.js%2f", "/static/sub/page.txt/", "/static/link_in.js/"):
            status, _, body = self.raw(target)
            self.assertEqual(status, 404, target)
            self.assertNotIn(b"home", body)
        # A folder named with a trailing "." is still that folder.
        self.assertEqual(self.raw("/static/sub/.")[2], self.files["sub/index.html"])

    def test_a_linked_folder_outside_the_root_is_404_not_a_redirect(self):
        for target in ("/static/dir_out", "/static/dir_out/", "/static/dir_out/."):
            status, headers, body = self.raw(target)
            self.assertEqual(status, 404, target)
            self.assertNotIn("location", headers)
        status, headers, _ = self.raw("/static/sub")  # a folder inside: still redirected
        self.assertEqual((status, headers["location"]), (301, "/static/sub/"))

    def test_ranges_at_and_past_2_to_the_64(self):
        data = self.files["app.js"]
        size = len(data)
        for whole in ("bytes=0-18446744073709551615", "bytes=0-18446744073709551616",
                      "bytes=0-99999999999999999999999999", "bytes=-99999999999999999999999"):
            status, headers, body = self.get("/static/app.js", {"Range": whole})
            self.assertEqual((status, body), (206, data), whole)
            self.assertEqual(headers["content-range"], f"bytes 0-{size - 1}/{size}", whole)
        for past in ("bytes=18446744073709551615-", "bytes=18446744073709551616-",
                     "bytes=99999999999999999999999-5"):
            status, headers, _ = self.get("/static/app.js", {"Range": past})
            if past.endswith("-5"):  # last < first: a malformed range, ignored
                self.assertEqual(status, 200, past)
                continue
            self.assertEqual(status, 416, past)
            self.assertEqual(headers["content-range"], f"bytes */{size}")

    def test_range_unit_is_case_insensitive_and_odd_ranges_are_ignored(self):
        data = self.files["app.js"]
        for unit in ("Bytes=0-1", "BYTES=0-1"):
            status, headers, body = self.get("/static/app.js", {"Range": unit})
            self.assertEqual((status, body), (206, data[:2]), unit)
        for ignored in ("bytes=-5-10", "bytes=5--1", "bytes=+1-2", "bytes=0-1,2-3,-4",
                        "bytes=0x1-2", "bytes=-"):
            status, _, body = self.get("/static/app.js", {"Range": ignored})
            self.assertEqual((status, body), (200, data), ignored)


if __name__ == "__main__":
    unittest.main()
