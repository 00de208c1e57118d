package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

type publishBody struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
	Type  *string         `json:"type"` // nil: absent, the default
	Key   string          `json:"key"`
}

type batchBody struct {
	Events []publishBody `json:"events"`
}

// publish handles POST /v1/topics/{topic}/events.
func (s *Server) publish(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	topic := ps.ByName("topics")
	if !store.ValidTopic(topic) {
		s.rejectPublish(w, r, topicError(topic))
		return
	}
	claims, err := s.auth.CanPublish(bearer(r), topic)
	if err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	if err := s.allowRate(r, claims, 1); err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	raw, rerr := s.readRequestBody(w, r)
	if rerr != nil {
		s.rejectPublish(w, r, rerr)
		return
	}
	body, fast := parsePublishFast(raw)
	if !fast {
		var v struct {
			Data json.RawMessage `json:"data"`
			Type *string         `json:"type"`
			Key  string          `json:"key"`
		}
		if err := decodeJSON(raw, &v); err != nil {
			s.rejectPublish(w, r, err)
			return
		}
		body = publishBody{Data: v.Data, Type: v.Type, Key: v.Key}
	}
	body.Topic = topic
	if body.Key == "" {
		body.Key = r.Header.Get("Idempotency-Key")
	}
	in, ierr := s.checkInput("", body)
	if ierr != nil {
		s.rejectPublish(w, r, ierr)
		return
	}
	res, aerr := s.store.Append(r.Context(), []store.Input{in})
	if aerr != nil {
		s.rejectPublish(w, r, aerr)
		return
	}
	status := http.StatusCreated
	if res[0].Duplicate {
		status = http.StatusOK
	}
	s.countPublished(res)
	info := requestInfoFrom(w)
	info.transport, info.events = "publish", 1
	writeJSON(w, status, append(appendResult(make([]byte, 0, 160), res[0]), '\n'))
}

// publishBatch handles POST /v1/events: 1..1000 events, all or none.
func (s *Server) publishBatch(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	// Who publishes is settled before the body is read: a request without
	// a valid token is 401 whatever it carries.
	claims, err := s.auth.Publisher(bearer(r))
	if err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	var body batchBody
	if err := s.decodeBody(w, r, &body); err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	if len(body.Events) == 0 || len(body.Events) > store.MaxBatch {
		s.rejectPublish(w, r, errorf(codeInvalidRequest, "A batch holds 1 to %d events in \"events\"; this one holds %d.", store.MaxBatch, len(body.Events)))
		return
	}
	inputs := make([]store.Input, len(body.Events))
	for i, e := range body.Events {
		if !store.ValidTopic(e.Topic) {
			err := topicError(e.Topic)
			err.Message = "events[" + strconv.Itoa(i) + "].topic: " + err.Message
			s.rejectPublish(w, r, err)
			return
		}
		in, err := s.checkInput("events["+strconv.Itoa(i)+"].", e)
		if err != nil {
			s.rejectPublish(w, r, err)
			return
		}
		inputs[i] = in
	}
	topics := make([]string, 0, 1)
	for _, in := range inputs {
		if !slices.Contains(topics, in.Topic) {
			topics = append(topics, in.Topic)
		}
	}
	if err := s.auth.MayPublish(claims, topics...); err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	if err := s.allowRate(r, claims, len(inputs)); err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	res, err := s.store.Append(r.Context(), inputs)
	if err != nil {
		s.rejectPublish(w, r, err)
		return
	}
	status := http.StatusOK
	out := append(make([]byte, 0, 96*len(res)), `{"events":[`...)
	for i, rs := range res {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendResult(out, rs)
		if !rs.Duplicate {
			status = http.StatusCreated
		}
	}
	out = append(out, "]}\n"...)
	s.countPublished(res)
	info := requestInfoFrom(w)
	info.transport, info.events = "publish", len(res)
	writeJSON(w, status, out)
}

// rejectPublish answers a publish that stored nothing and counts it.
func (s *Server) rejectPublish(w http.ResponseWriter, r *http.Request, err error) {
	requestInfoFrom(w).transport = "publish"
	result := "rejected"
	if status := s.writeError(w, r, err); status >= 500 {
		result = "failed"
	}
	s.metrics.Published.WithLabelValues(result).Inc()
}

func (s *Server) countPublished(res []store.Result) {
	var created, dup int
	for _, r := range res {
		if r.Duplicate {
			dup++
		} else {
			created++
		}
	}
	s.published.created.Add(float64(created))
	if dup > 0 {
		s.published.duplicate.Add(float64(dup))
	}
}

// allowRate checks the publisher is within its publish rate for n more
// events: the rate its token carries (tidings.rate) or the server's, per
// token subject, or per address without a token.
func (s *Server) allowRate(r *http.Request, claims *auth.Claims, n int) error {
	rate, burst := s.cfg.PublishRate, float64(s.cfg.PublishBurst)
	if claims != nil && claims.Rate != nil {
		rate, burst = *claims.Rate, 2**claims.Rate
	}
	if rate <= 0 {
		return nil // and no key to build
	}
	key := "addr:" + s.limitKey(r)
	if claims != nil {
		key = auth.PublisherKey(bearer(r), claims)
	}
	if !s.rate.allow(key, rate, burst, n, time.Now()) {
		return errorf(codeTooManyRequests, "Over the publish rate of %g events per second; retry shortly.", rate)
	}
	return nil
}

// appendResult encodes a stored event without its data.
func appendResult(b []byte, r store.Result) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.Event.ID, 10)
	b = append(b, `,"topic":`...)
	b = stream.AppendJSONString(b, r.Event.Topic)
	b = append(b, `,"type":`...)
	b = stream.AppendJSONString(b, r.Event.Type)
	b = append(b, `,"time":"`...)
	b = r.Event.Time.UTC().AppendFormat(b, stream.TimeFormat)
	b = append(b, '"')
	if r.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, '}')
}

// checkInput validates one event and compacts its data.
func (s *Server) checkInput(field string, e publishBody) (store.Input, *Error) {
	typ, err := checkType(e.Type)
	if err != nil {
		err.Message = field + "type: " + err.Message
		return store.Input{}, err
	}
	if err := checkKey(e.Key); err != nil {
		err.Message = field + "key: " + err.Message
		return store.Input{}, err
	}
	if e.Data == nil {
		return store.Input{}, errorf(codeInvalidData, "%sdata is required (write null explicitly for no data).", field)
	}
	if !utf8.Valid(e.Data) {
		return store.Input{}, errorf(codeInvalidData, "%sdata must be valid UTF-8.", field)
	}
	data := e.Data
	// Data that is already compact is kept as it came (json.Compact would
	// copy it unchanged).
	if !isCompact(data) || !json.Valid(data) {
		var buf bytes.Buffer
		buf.Grow(len(data))
		if err := json.Compact(&buf, data); err != nil {
			return store.Input{}, errorf(codeInvalidData, "%sdata is not valid JSON.", field)
		}
		data = buf.Bytes()
	}
	if len(data) > s.cfg.MaxEventBytes {
		return store.Input{}, errorf(codeTooLarge, "%sdata is %d bytes encoded; the limit is %d.", field, len(data), s.cfg.MaxEventBytes)
	}
	return store.Input{Topic: e.Topic, Type: typ, Key: e.Key, Data: data}, nil
}

// decodeBody reads one JSON object, within the size limit and with no
// unknown fields, into v.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) *Error {
	body, err := s.readRequestBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// readRequestBody checks the Content-Type and reads the body within the
// size limit.
func (s *Server) readRequestBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
			return nil, errorf(codeUnsupportedMediaType, "Send the body as application/json.")
		}
	}
	if r.ContentLength > s.cfg.MaxRequestBytes {
		return nil, errorf(codeTooLarge, "The request body is %d bytes; the limit is %d.", r.ContentLength, s.cfg.MaxRequestBytes)
	}
	// The server bounds the whole request read from its first byte
	// (http.Server.ReadTimeout); shutting down ends the read at once.
	rc := http.NewResponseController(w)
	abort := context.AfterFunc(s.stopping, func() { rc.SetReadDeadline(time.Unix(1, 0)) })
	rd := r.Body
	if r.ContentLength <= 0 {
		// Of unknown length: net/http does not bound it, this does.
		rd = http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes)
	}
	body, err := readBody(rd, r.ContentLength)
	if !abort() && err != nil {
		return nil, errShuttingDown
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(codeTooLarge, "The request body is over the limit of %d bytes.", s.cfg.MaxRequestBytes)
		}
		return nil, errorf(codeInvalidRequest, "The request body could not be read.")
	}
	return body, nil
}

// decodeJSON decodes body, one JSON object with no unknown fields, into v.
func decodeJSON(body []byte, v any) *Error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(codeInvalidJSON, "The body must hold exactly one JSON object.")
	}
	return nil
}

// readBody reads all of r, in one allocation when the length is known and
// small. A large announced length is not trusted with memory up front: the
// buffer then grows only as the bytes arrive.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 || length > 64<<10 {
		return io.ReadAll(r)
	}
	buf := make([]byte, length+1) // one more to see a body longer than announced
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return buf[:n], nil
	case err != nil:
		return nil, err
	}
	// Longer than announced: net/http does not let that happen, but read on.
	rest, err := io.ReadAll(r)
	return append(buf, rest...), err
}

func jsonError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errorf(codeInvalidJSON, "The body is empty; send a JSON object.")
	case errors.As(err, &syn):
		return errorf(codeInvalidJSON, "The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(codeInvalidJSON, "The body must be a JSON object.")
		}
		return errorf(codeInvalidJSON, "Field %q must be a JSON %s.", typ.Field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(codeInvalidJSON, "The body has an unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errorf(codeInvalidJSON, "The body is not valid JSON.")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "slice":
		return "array"
	case "struct":
		return "object"
	default:
		return "value of another kind"
	}
}
