package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
)

// connect-mongo 6 encrypts the session string with one of two adapters;
// sessionCipher reads both, telling them apart by the payload's shape.
//
// kruptein 3 (the legacy `crypto: { secret }` option): base64 of a DER
// SEQUENCE of six OCTET STRINGs {ct, hmac, iv, salt, at, aad} where ct,
// hmac and aad hold base64 text and iv (12 bytes), salt (128 bytes) and at
// (the 16-byte GCM tag) raw bytes. key = PBKDF2-SHA512(secret, salt, 15000
// iterations, 32 bytes); hmac = base64(HMAC-SHA512(key, ct text));
// plaintext = AES-256-GCM-Open(key, iv, ct||at, aad = base64-decoded aad).
// The plaintext is JSON.stringify of the serialized session string.
//
// Web Crypto adapter (createWebCryptoAdapter): base64(iv(12) || ct || tag)
// with key = PBKDF2-SHA256(secret, salt, iterations, 32 bytes), by default
// salt "connect-mongo:webcrypto-default-salt" and 310000 iterations.
const (
	krupteinIterations      = 15000
	krupteinKeySize         = 32
	krupteinTagSize         = 16
	webCryptoDefaultSalt    = "connect-mongo:webcrypto-default-salt"
	webCryptoDefaultIters   = 310000
	webCryptoKeySize        = 32
	webCryptoIVSize         = 12
	maxEncryptedSessionSize = 16 << 20
)

type krupteinEnvelope struct {
	CT   []byte
	HMAC []byte
	IV   []byte
	Salt []byte
	AT   []byte
	AAD  []byte
}

type sessionCipher struct {
	secret string

	webSalt  []byte
	webIters int
	webKey   func() ([]byte, error) // derived once, on first use
}

func newSessionCipher(secret, webSalt string, webIters int) *sessionCipher {
	if webSalt == "" {
		webSalt = webCryptoDefaultSalt
	}
	if webIters <= 0 {
		webIters = webCryptoDefaultIters
	}
	c := &sessionCipher{secret: secret, webSalt: []byte(webSalt), webIters: webIters}
	c.webKey = sync.OnceValues(func() ([]byte, error) {
		return pbkdf2.Key(sha256.New, c.secret, c.webSalt, c.webIters, webCryptoKeySize)
	})
	return c
}

// decrypt returns the plaintext of an encrypted session string.
func (c *sessionCipher) decrypt(payload string) ([]byte, error) {
	if len(payload) > maxEncryptedSessionSize {
		return nil, fmt.Errorf("%w: encrypted session too large", ErrCorruptSession)
	}
	raw, err := decodeBase64Lenient(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: encrypted session is not base64", ErrCorruptSession)
	}
	var env krupteinEnvelope
	if rest, err := asn1.Unmarshal(raw, &env); err == nil && len(rest) == 0 {
		return c.decryptKruptein(&env)
	}
	return c.decryptWebCrypto(raw)
}

func (c *sessionCipher) decryptKruptein(env *krupteinEnvelope) ([]byte, error) {
	if len(env.IV) == 0 || len(env.AT) != krupteinTagSize {
		return nil, fmt.Errorf("%w: kruptein envelope: bad iv or tag size", ErrCorruptSession)
	}
	key, err := pbkdf2.Key(sha512.New, c.secret, env.Salt, krupteinIterations, krupteinKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: kruptein key: %v", ErrCorruptSession, err)
	}
	h := hmac.New(sha512.New, key)
	h.Write(env.CT)
	want := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if !hmac.Equal([]byte(want), env.HMAC) {
		return nil, fmt.Errorf("%w: kruptein hmac mismatch (wrong secret or tampered)", ErrCorruptSession)
	}
	ct, err := decodeBase64Lenient(string(env.CT))
	if err != nil {
		return nil, fmt.Errorf("%w: kruptein ct is not base64", ErrCorruptSession)
	}
	aad, err := decodeBase64Lenient(string(env.AAD))
	if err != nil {
		return nil, fmt.Errorf("%w: kruptein aad is not base64", ErrCorruptSession)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSession, err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(env.IV))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSession, err)
	}
	pt, err := gcm.Open(nil, env.IV, append(ct, env.AT...), aad)
	if err != nil {
		return nil, fmt.Errorf("%w: kruptein: %v", ErrCorruptSession, err)
	}
	return pt, nil
}

func (c *sessionCipher) decryptWebCrypto(raw []byte) ([]byte, error) {
	if len(raw) < webCryptoIVSize+16 {
		return nil, fmt.Errorf("%w: web crypto payload too short", ErrCorruptSession)
	}
	key, err := c.webKey()
	if err != nil {
		return nil, fmt.Errorf("%w: web crypto key: %v", ErrCorruptSession, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSession, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSession, err)
	}
	pt, err := gcm.Open(nil, raw[:webCryptoIVSize], raw[webCryptoIVSize:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: web crypto: %v", ErrCorruptSession, err)
	}
	return pt, nil
}

// decodeBase64Lenient accepts padded or unpadded standard base64, as
// Node's Buffer.from(s, 'base64') does for what Node itself wrote.
func decodeBase64Lenient(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid base64")
	}
	return b, nil
}
