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
	copyValue(out, in, f)
	return out.Interface().(T)
}

// Report is Copy with String: the value with its secrets masked.
func Report[T any](v T) T { return Copy(v, String) }

func copyValue(dst, src reflect.Value, f func(string) string) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(f(src.String()))
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem(), f)
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyValue(e, src.Elem(), f)
		dst.Set(e)
	case reflect.Struct:
		dst.Set(src) // unexported fields, as they are
		t := src.Type()
		for i := range src.NumField() {
			if t.Field(i).IsExported() {
				copyValue(dst.Field(i), src.Field(i), f)
			}
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
			copyValue(s.Index(i), src.Index(i), f)
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i), f)
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			k := reflect.New(src.Type().Key()).Elem()
			copyValue(k, it.Key(), f)
			e := reflect.New(src.Type().Elem()).Elem()
			copyValue(e, it.Value(), f)
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}
