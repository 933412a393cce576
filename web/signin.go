package web

import (
	"net/http"
	"strconv"
	"time"
)

type signinData struct {
	Token string
	Name  string
}

// signinForm shows the sign-in form with a fresh token bound to a
// pre-session cookie (a login form without it would let another site sign
// a browser in to an account of its choosing).
func (p *Pages) signinForm(w http.ResponseWriter, r *http.Request) {
	if x := p.sess.get(cookieValue(r, sessionCookie)); x != nil {
		http.Redirect(w, r, p.base+"/web/collections", http.StatusSeeOther)
		return
	}
	p.showSignin(w, r, http.StatusOK, "", "")
}

func (p *Pages) showSignin(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	tok := randomToken()
	p.setCookie(w, r, signinCookie, tok, int((15 * time.Minute).Seconds()))
	p.render(w, r, status, "signin", view{Title: "Sign in", Error: msg, Data: signinData{Token: tok, Name: name}})
}

func (p *Pages) signinPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		p.showSignin(w, r, http.StatusBadRequest, "", err.Error())
		return
	}
	if !tokenEqual(r.PostFormValue("csrf"), cookieValue(r, signinCookie)) {
		p.showSignin(w, r, http.StatusForbidden, "", errCSRF.Msg)
		return
	}
	user, pw := r.PostFormValue("user"), r.PostFormValue("password")
	if err := p.signIn(r, user, pw); err != nil {
		status := http.StatusUnauthorized
		if hs, ok := err.(interface{ HTTPStatus() int }); ok && hs.HTTPStatus() >= 400 {
			status = hs.HTTPStatus()
		}
		if ra, ok := err.(interface{ RetryAfter() time.Duration }); ok && ra.RetryAfter() > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(ra.RetryAfter().Seconds())+1))
		}
		p.showSignin(w, r, status, user, err.Error())
		return
	}
	acct, err := p.account(user)
	if err != nil || acct.Disabled {
		p.showSignin(w, r, http.StatusUnauthorized, user, "wrong user name or password")
		return
	}
	p.sess.drop(cookieValue(r, sessionCookie)) // a session this browser had before ends
	var appID string
	if ap, ok := acct.MatchAppPassword(pw); ok {
		appID = ap.ID
	}
	x := p.sess.create(user, acct.PasswordHash, appID)
	p.setCookie(w, r, signinCookie, "", -1)
	p.setCookie(w, r, sessionCookie, x.id, 0)
	p.log.Info("web sign-in", "user", user)
	http.Redirect(w, r, p.base+"/web/collections", http.StatusSeeOther)
}

func (p *Pages) signout(x *req) error {
	p.sess.drop(x.sess.id)
	p.setCookie(x.w, x.r, sessionCookie, "", -1)
	http.Redirect(x.w, x.r, p.base+"/web/signin", http.StatusSeeOther)
	return nil
}
