'use strict';
// A tiny real Express 5 app with express-session 1.19 and a passport-style
// login (req.session.passport = { user }). It is the only thing that writes
// session fixtures for the Go auth tests: the Go side must read exactly what
// connect-mongo 6 and connect-redis 10 write.

const express = require('express');
const session = require('express-session');

const COOKIE_NAME = 'connect.sid';

// createApp returns an Express app that stores sessions in `store`.
// secret: a string or an array of strings (the first one signs).
// maxAgeMs: cookie.maxAge, undefined for a browser-session cookie.
function createApp({ store, secret, maxAgeMs, cookieName = COOKIE_NAME }) {
  const app = express();
  app.use(express.json());
  app.use(session({
    name: cookieName,
    store,
    secret,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: maxAgeMs },
  }));

  // POST /login { user, userName?, userRole? }: what passport's req.login does
  // (regenerate the session, then store the serialized user), plus the
  // profile fields the dashboard keeps in the session.
  app.post('/login', (req, res, next) => {
    const { user, userName, userRole } = req.body || {};
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.passport = { user };
      if (userName !== undefined) req.session.userName = userName;
      if (userRole !== undefined) req.session.userRole = userRole;
      res.json({ sid: req.sessionID });
    });
  });

  // POST /logout: destroy the session named by the cookie.
  app.post('/logout', (req, res, next) => {
    const existed = Boolean(req.session && req.session.passport);
    req.session.destroy((err) => {
      if (err) return next(err);
      res.json({ destroyed: existed });
    });
  });

  // Errors (store down, ...) come back as 500 with a message.
  app.use((err, req, res, _next) => {
    res.status(500).json({ error: String(err && err.message || err) });
  });
  return app;
}

module.exports = { createApp, COOKIE_NAME };
