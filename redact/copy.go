package redact

import "reflect"

// Copy returns a deep copy of v in which every string (struct fields,
// slice and array elements, map keys and values, through pointers and
// interfaces) has been passed through f. Byte slices and unexported
// fields are copied as they are. v itself is never changed, so masking a
// plan for display cannot change what the plan writes.
func Copy[T any](v T, f func(string) string) T {
	in := reflect.ValueOf(&v).Elem()
	out := reflect.New(in.Type()).Elem()
	c := copier{f: f}
	c.value(out, in)
	return out.Interface().(T)
}

// Report is Copy with String: the value with its secrets masked. A value
// is also masked whole when its name, beside it, names a secret: a struct
// with Name (or Key) and Value fields ({Name: "API_KEY", Value: "…"}, an
// environment variable), or a map entry whose key does (labels, options).
func Report[T any](v T) T {
	in := reflect.ValueOf(&v).Elem()
	out := reflect.New(in.Type()).Elem()
	c := copier{f: String, pairs: true}
	c.value(out, in)
	return out.Interface().(T)
}

// copier copies values, passing strings through f; pairs masks values
// named by a secret name beside them.
type copier struct {
	f     func(string) string
	pairs bool
}

func (c copier) value(dst, src reflect.Value) {

	switch src.Kind() {
	case reflect.String:
		dst.SetString(c.f(src.String()))
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		c.value(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		c.value(e, src.Elem())
		dst.Set(e)
	case reflect.Struct:
		dst.Set(src) // unexported fields, as they are
		t := src.Type()
		for i := range src.NumField() {
			if t.Field(i).IsExported() {
				c.value(dst.Field(i), src.Field(i))
			}
		}
		if c.pairs {
			maskNamedValue(dst, src)
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		if src.Type().Elem().Kind() == reflect.Uint8 {
			dst.Set(reflect.AppendSlice(reflect.MakeSlice(src.Type(), 0, src.Len()), src))
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			c.value(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			c.value(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			k := reflect.New(src.Type().Key()).Elem()
			c.value(k, it.Key())
			e := reflect.New(src.Type().Elem()).Elem()
			c.value(e, it.Value())
			if c.pairs && it.Key().Kind() == reflect.String && e.Kind() == reflect.String && e.Len() > 0 && IsSecretName(it.Key().String()) {
				e.SetString(Mask)
			}
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}

// maskNamedValue masks dst's Value when src's Name or Key names a secret.
func maskNamedValue(dst, src reflect.Value) {
	val := dst.FieldByName("Value")
	if !val.IsValid() || val.Kind() != reflect.String || !val.CanSet() || val.Len() == 0 {
		return
	}
	for _, n := range []string{"Name", "Key"} {
		if name := src.FieldByName(n); name.IsValid() && name.Kind() == reflect.String && IsSecretName(name.String()) {
			val.SetString(Mask)
			return
		}
	}
}
