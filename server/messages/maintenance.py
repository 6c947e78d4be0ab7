"""Maintenance: the reconcile pass."""

VI = {
    "maintenance.reconciled": "Đã đối soát dữ liệu: sửa {count} mục",
}

EN = {
    "maintenance.reconciled": "Data reconciled: {count} item(s) repaired",
}
