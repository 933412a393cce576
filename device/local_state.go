package device

// localState reads, in one replica transaction, what the device holds for
// a collection, each keyed by href: its items, the local deletions the
// server has not confirmed yet (pending), and the server deletions it has
// applied. pull and recover both decide per href against these three.
func (e *Engine) localState(collection string) (items map[string]Item, pending, applied map[string]Deletion, err error) {
	items, pending, applied = map[string]Item{}, map[string]Deletion{}, map[string]Deletion{}
	err = e.Replica.View(func(t *Txn) error {
		is, err := t.Items(collection)
		if err != nil {
			return err
		}
		for _, it := range is {
			items[it.Href] = it
		}
		ds, err := t.Deletions(collection)
		if err != nil {
			return err
		}
		for _, d := range ds {
			pending[d.Href] = d
		}
		as, err := t.Applied(collection)
		if err != nil {
			return err
		}
		for _, d := range as {
			applied[d.Href] = d
		}
		return nil
	})
	return items, pending, applied, err
}
