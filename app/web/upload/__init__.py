"""Request bodies that carry uploads, read without ever spooling plaintext to disk.

================ =============================================== ===================
Module           Its one job                                     Used by
================ =============================================== ===================
no_spool_request ``NoSpoolRequest``: Flask's request class, which ``app.create_app``
                 refuses file parts in ordinary form parsing
multipart_stream ``iter_parts``: stream-parse a multipart body   ``app.web.tipster``
                 part by part, in bounded pieces
streamed_form    ``read_streamed_form``: CSRF first, text fields ``app.web.tipster``
                 into memory, each file part to a callback
socket_body      ``body_pieces``: a chunk batch's raw body, read ``app.web.api``
                 straight from gunicorn's socket when it can
================ =============================================== ===================
"""
