package auth

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/x/mongo/driver/connstring"
)

// DefaultSessionCollection is connect-mongo's default collectionName.
const DefaultSessionCollection = "sessions"

// MongoConfig configures a MongoStore.
type MongoConfig struct {
	// URI is the mongodb:// connection string (required).
	URI string
	// DB is the database. Zero means the database in URI, else "test"
	// (what connect-mongo does with dbName unset).
	DB string
	// Collection holds the sessions. Zero means "sessions".
	Collection string
	// CryptoSecret is connect-mongo's crypto secret. Zero means sessions are
	// stored in clear; when set, string sessions are decrypted (kruptein
	// `crypto: { secret }` and createWebCryptoAdapter payloads are both read).
	CryptoSecret string
	// WebCryptoSalt and WebCryptoIterations match createWebCryptoAdapter's
	// salt and iterations. Zero means its defaults
	// ("connect-mongo:webcrypto-default-salt", 310000).
	WebCryptoSalt       string
	WebCryptoIterations int
}

// MongoStore reads sessions written by connect-mongo 6: documents
// {_id: sid, expires: Date, session: JSON string | sub-document}.
type MongoStore struct {
	client *mongo.Client
	coll   *mongo.Collection
	cipher *sessionCipher // nil without CryptoSecret
}

// NewMongoStore opens a client (the connection itself is lazy: see Ping).
func NewMongoStore(ctx context.Context, cfg MongoConfig) (*MongoStore, error) {
	if cfg.URI == "" {
		return nil, errors.New("auth: MongoConfig.URI is required")
	}
	cs, err := connstring.ParseAndValidate(cfg.URI)
	if err != nil {
		return nil, fmt.Errorf("auth: MongoConfig.URI: %w", err)
	}
	db := cfg.DB
	if db == "" {
		db = cs.Database
	}
	if db == "" {
		db = "test"
	}
	coll := cfg.Collection
	if coll == "" {
		coll = DefaultSessionCollection
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(cfg.URI).
		SetServerSelectionTimeout(2*time.Second).SetConnectTimeout(2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("auth: mongo connect: %w", err)
	}
	s := &MongoStore{client: client, coll: client.Database(db).Collection(coll)}
	if cfg.CryptoSecret != "" {
		s.cipher = newSessionCipher(cfg.CryptoSecret, cfg.WebCryptoSalt, cfg.WebCryptoIterations)
	}
	return s, nil
}

// Get implements SessionStore with connect-mongo's query: a document whose
// expires is not in the future is not found even if it was not deleted.
func (s *MongoStore) Get(ctx context.Context, sid string) (*Session, error) {
	now := time.Now()
	filter := bson.D{
		{Key: "_id", Value: sid},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "expires", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "expires", Value: bson.D{{Key: "$gt", Value: now}}}},
		}},
	}
	raw, err := s.coll.FindOne(ctx, filter).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: mongo find: %w", err)
	}
	return decodeMongoDocument(raw, s.cipher, now)
}

// Ping checks that the server answers.
func (s *MongoStore) Ping(ctx context.Context) error {
	return s.client.Ping(ctx, nil)
}

// Close disconnects the client.
func (s *MongoStore) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

// decodeMongoDocument decodes a connect-mongo document. It re-checks the
// expiry the query already applied, so a server that compares dates
// differently cannot revive an expired session.
func decodeMongoDocument(doc bson.Raw, c *sessionCipher, now time.Time) (*Session, error) {
	// bson.Raw.Validate panics on a declared length below 5 (found by
	// FuzzDecodeMongoDocument); check the header first.
	if len(doc) < 5 || int(binary.LittleEndian.Uint32(doc)) != len(doc) {
		return nil, fmt.Errorf("%w: bad BSON document length", ErrCorruptSession)
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSession, err)
	}
	var expires time.Time
	if ev, err := doc.LookupErr("expires"); err == nil {
		dt, ok := ev.DateTimeOK()
		if !ok {
			return nil, ErrNotFound // $gt: Date never matches another type
		}
		expires = time.UnixMilli(dt)
		if !expires.After(now) {
			return nil, ErrNotFound
		}
	}
	sv, err := doc.LookupErr("session")
	if err != nil {
		// JSON.parse(undefined) throws in connect-mongo's get.
		return nil, fmt.Errorf("%w: document has no session field", ErrCorruptSession)
	}
	var sess *Session
	switch sv.Type {
	case bson.TypeString:
		str := sv.StringValue()
		if c != nil {
			pt, err := c.decrypt(str)
			if err != nil {
				return nil, err
			}
			sess, err = decodeSessionPlaintext(pt)
			if err != nil {
				return nil, err
			}
		} else if sess, err = decodeSessionJSON([]byte(str)); err != nil {
			return nil, err
		}
	case bson.TypeEmbeddedDocument:
		sess = sessionFromValue(bsonValue(sv))
	case bson.TypeNull:
		sess = &Session{} // JSON.parse(null) === null: no session
	default:
		return nil, fmt.Errorf("%w: session field has BSON type %s", ErrCorruptSession, sv.Type)
	}
	sess.Expires = expires
	return sess, nil
}

// bsonOpaque stands for a BSON value with no JSON counterpart the
// authenticator cares about (ObjectId, Decimal128, binary, ...); like a JS
// object it is truthy and never strictly equal to anything.
type bsonOpaque struct{}

// bsonValue converts a BSON value the way the Node driver hands it to
// JavaScript: every numeric type becomes a number (float64), documents
// map[string]any, arrays []any, dates time.Time.
func bsonValue(v bson.RawValue) any {
	switch v.Type {
	case bson.TypeDouble:
		return v.Double()
	case bson.TypeInt32:
		return float64(v.Int32())
	case bson.TypeInt64:
		return float64(v.Int64())
	case bson.TypeString:
		return v.StringValue()
	case bson.TypeBoolean:
		return v.Boolean()
	case bson.TypeNull, bson.TypeUndefined:
		return nil
	case bson.TypeDateTime:
		return time.UnixMilli(v.DateTime()).UTC()
	case bson.TypeEmbeddedDocument:
		elems, err := v.Document().Elements()
		if err != nil {
			return bsonOpaque{}
		}
		m := make(map[string]any, len(elems))
		for _, e := range elems {
			m[e.Key()] = bsonValue(e.Value())
		}
		return m
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return bsonOpaque{}
		}
		a := make([]any, len(vals))
		for i, e := range vals {
			a[i] = bsonValue(e)
		}
		return a
	default:
		return bsonOpaque{}
	}
}
